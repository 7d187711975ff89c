/**
 * ClusterNetworkPolicy end to end (sigs.k8s.io/network-policy-api v0.3.0,
 * the upstream CRD fetched by test/cluster/fetch-crd.sh): a real
 * kube-apiserver serving the CRD, `sluice agent` as a process authorized by
 * deploy/'s ClusterRole, policies applied with kubectl. After every step,
 * real TCP connections between every pod pair equal `sluice simulate` on
 * the objects read back from the API server, ClusterNetworkPolicies
 * included (test/e2e/e2e-steps.ts).
 *
 * The steps build on each other and each names cells of the expected
 * matrix, so no step passes by changing nothing; a step that undoes earlier
 * ones must also measure exactly the matrices of the step it restores.
 *
 * Two runs, one per datapath and topology (each datapath's tier planning is
 * covered per packet by test/{ebpf,iptables}/tiers.priv.test.ts; this is
 * about the API path):
 * - ebpf · routed starts without the CRD: the agent syncs and enforces
 *   NetworkPolicy alone, then the CRD is applied mid-test and the agent
 *   picks it up on its next look (every 30 s: kube.ts DEFAULT_CRD_RETRY_MS);
 * - iptables · bridge has the CRD before the agent starts, so the first sync
 *   already watches v1beta1.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { controlPlaneSkip } from '../cluster/control-plane.js';
import { CNP_COLLECTIONS, CNP_CRD_NAME, crdSkip } from '../cluster/crd.js';
import { isRoot } from '../support/netns.js';
import { BPF_OBJECT, createE2eCluster, type E2eCluster } from './e2e-cluster.js';
import { agentTail, checkCells, converge, type Cell, type Matrices, type Probes } from './e2e-steps.js';

interface Step extends Probes {
  /** Named by later steps' `restores`. */
  readonly id: string;
  readonly name: string;
  readonly change: (c: E2eCluster) => Promise<unknown>;
  readonly cells: readonly Cell[];
  /** An earlier step whose measured matrices this one must equal. */
  readonly restores?: string;
  /** What the agent's log must show once enforcement matches. */
  readonly log?: RegExp;
}

/** Every step measures the same ports, so that any two steps' matrices compare. */
const PORTS = [80, 81, 5000] as const;

const sel = (labels: Record<string, string>) => ({ matchLabels: labels });
const nsNamed = (name: string) => sel({ 'kubernetes.io/metadata.name': name });
const tcp = (port: number) => ({ tcp: { destinationPort: { number: port } } });
const apply = (doc: object) => (c: E2eCluster) => c.kubectl(['apply', '-f', '-'], JSON.stringify(doc));
const CNP = CNP_CRD_NAME;

const netpol = (ns: string, name: string, spec: object) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec,
});

const cnp = (name: string, spec: object, version: 'v1beta1' | 'v1alpha2' = 'v1beta1') => ({
  apiVersion: `policy.networking.k8s.io/${version}`,
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec,
});

const subjectA = { pods: { namespaceSelector: nsNamed('x'), podSelector: sel({ app: 'a' }) } };

/** x/a: every namespace's pods on TCP/80 and TCP/81 only. */
const npA = netpol('x', 'a-80-81', {
  podSelector: sel({ app: 'a' }),
  ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 80 }, { port: 81 }] }],
});

/** Admin, priority 20, on x/a: Deny team=y on TCP/80 (which npA allows), Accept it on TCP/5000 (which npA denies). */
const denyY = cnp('deny-y', {
  tier: 'Admin',
  priority: 20,
  subject: subjectA,
  ingress: [
    { name: 'deny-team-y-80', action: 'Deny', from: [{ namespaces: sel({ team: 'y' }) }], protocols: [tcp(80)] },
    {
      name: 'accept-team-y-5000',
      action: 'Accept',
      from: [{ namespaces: sel({ team: 'y' }) }],
      protocols: [tcp(5000)],
    },
  ],
});

/** Admin, on x/a: Pass y/c on TCP/80 and TCP/5000 to the NetworkPolicy tier. Written as v1alpha2, the other served version. */
const passC = (priority: number) =>
  cnp(
    'pass-c',
    {
      tier: 'Admin',
      priority,
      subject: subjectA,
      ingress: [
        {
          name: 'pass-c',
          action: 'Pass',
          from: [{ pods: { namespaceSelector: sel({ team: 'y' }), podSelector: sel({ app: 'c' }) } }],
          protocols: [tcp(80), tcp(5000)],
        },
      ],
    },
    'v1alpha2',
  );

/** Baseline, on every pod of x: Deny all ingress, from every namespace's pods, on every port. */
const baselineX = cnp('baseline-x', {
  tier: 'Baseline',
  priority: 10,
  subject: { namespaces: nsNamed('x') },
  ingress: [{ name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] }],
});

/** x/b: only team=y, every port. */
const npB = netpol('x', 'b-from-team-y', {
  podSelector: sel({ app: 'b' }),
  ingress: [{ from: [{ namespaceSelector: sel({ team: 'y' }) }] }],
});

interface Run {
  readonly datapath: 'ebpf' | 'iptables';
  readonly topology: 'routed' | 'bridge';
  /** Install the CRD before the agent starts; otherwise it is applied mid-test. */
  readonly crdAtStart: boolean;
}

/** The API server does not serve ClusterNetworkPolicy, and still refuses its list to who lacks the RBAC rule. */
async function notServed(c: E2eCluster): Promise<void> {
  const [collection] = CNP_COLLECTIONS;
  const admin = await c.cp.kubectlResult(['get', '--raw', collection]);
  assert.match(admin.stderr, /NotFound/, 'the API server must not serve ClusterNetworkPolicy yet');
  // Why deploy/ grants list on it even so (docs/deploy.md): authorization comes before the lookup.
  const nobody = await c.cp.kubectlResult(['get', '--raw', collection, '--as=nobody']);
  assert.match(nobody.stderr, /Forbidden/, 'without the RBAC rule, a list is refused even with no CRD');
}

function steps(run: Run): Step[] {
  const first: Step = {
    id: 'np',
    name: run.crdAtStart
      ? 'CRD installed, no ClusterNetworkPolicy: the NetworkPolicy alone decides'
      : 'CRD not installed: the agent syncs and enforces NetworkPolicy',
    change: async (c) => {
      if (!run.crdAtStart) await notServed(c);
      await apply(npA)(c);
    },
    log: run.crdAtStart
      ? /ClusterNetworkPolicy is installed: watching policy\.networking\.k8s\.io\/v1beta1/
      : /ClusterNetworkPolicy is not installed/,
    withinMs: 30_000, // the agent process starts (tsx) and lists everything first
    ports: PORTS,
    cells: [
      ['y/c', 'x/a', 80, true],
      ['y/c', 'x/a', 5000, false],
      ['x/a', 'x/b', 5000, true],
    ],
  };
  const admin: Step = {
    id: 'deny',
    name: run.crdAtStart
      ? 'Admin Deny overrides the NetworkPolicy that allows TCP/80 from y; Admin Accept overrides its isolation on 5000'
      : 'CRD applied mid-test: the agent picks it up; Admin Deny and Accept override the NetworkPolicy',
    change: async (c) => {
      if (!run.crdAtStart) await c.cp.installClusterNetworkPolicyCrd();
      await apply(denyY)(c);
    },
    // Without the CRD at start, the agent looks again every 30 s.
    ...(run.crdAtStart ? {} : { withinMs: 45_000, log: /ClusterNetworkPolicy is installed now/ }),
    ports: PORTS,
    cells: [
      ['y/c', 'x/a', 80, false],
      ['y/c', 'x/a', 81, true],
      ['y/c', 'x/a', 5000, true],
      ['x/b', 'x/a', 80, true],
      ['r/remote', 'x/a', 80, true],
    ],
  };
  return [
    first,
    admin,
    {
      id: 'pass',
      name: 'Admin Pass at priority 10 hands y/c to the NetworkPolicy tier before the Deny and Accept at 20',
      change: apply(passC(10)),
      ports: PORTS,
      cells: [
        ['y/c', 'x/a', 80, true],
        ['y/c', 'x/a', 5000, false],
      ],
    },
    {
      id: 'reorder',
      name: 'kubectl patch moves the Pass to priority 30: the Deny and Accept at 20 win again',
      change: (c) => c.kubectl(['patch', CNP, 'pass-c', '--type=merge', '-p', '{"spec":{"priority":30}}']),
      restores: 'deny',
      ports: PORTS,
      cells: [
        ['y/c', 'x/a', 80, false],
        ['y/c', 'x/a', 5000, true],
      ],
    },
    {
      id: 'baseline',
      name: 'Baseline Deny on namespace x: applies to b (no NetworkPolicy selects it), not to a',
      change: apply(baselineX),
      ports: PORTS,
      cells: [
        ['y/c', 'x/b', 80, false],
        ['x/a', 'x/b', 81, false],
        ['r/remote', 'x/b', 5000, false],
        ['r/remote', 'x/a', 81, true],
        ['x/b', 'y/c', 80, true],
      ],
    },
    {
      id: 'np-b',
      name: 'a NetworkPolicy selects b: the Baseline stops applying to it',
      change: apply(npB),
      ports: PORTS,
      cells: [
        ['y/c', 'x/b', 80, true],
        ['y/c', 'x/b', 5000, true],
        ['x/a', 'x/b', 81, false],
      ],
    },
    {
      id: 'np-b-deleted',
      name: 'that NetworkPolicy deleted: the Baseline applies to b again',
      change: (c) => c.kubectl(['delete', 'networkpolicy', '-n', 'x', 'b-from-team-y']),
      restores: 'baseline',
      ports: PORTS,
      cells: [['y/c', 'x/b', 80, false]],
    },
    {
      id: 'baseline-deleted',
      name: 'the Baseline ClusterNetworkPolicy deleted: b is open again',
      change: (c) => c.kubectl(['delete', CNP, 'baseline-x']),
      restores: 'reorder',
      ports: PORTS,
      cells: [
        ['y/c', 'x/b', 80, true],
        ['x/a', 'x/b', 81, true],
      ],
    },
    {
      id: 'admin-deleted',
      name: 'the Admin ClusterNetworkPolicies deleted: the NetworkPolicy alone decides again',
      change: (c) => c.kubectl(['delete', CNP, 'deny-y', 'pass-c']),
      restores: 'np',
      ports: PORTS,
      cells: [
        ['y/c', 'x/a', 80, true],
        ['y/c', 'x/a', 5000, false],
      ],
    },
  ];
}

const RUNS: readonly Run[] = [
  { datapath: 'ebpf', topology: 'routed', crdAtStart: false },
  { datapath: 'iptables', topology: 'bridge', crdAtStart: true },
];

const skip = !isRoot() ? 'needs root: network namespaces, netfilter and BPF' : controlPlaneSkip() || crdSkip();

for (const run of RUNS) {
  const { datapath, topology } = run;
  const dpSkip = skip !== false ? skip : datapath === 'ebpf' && !existsSync(BPF_OBJECT) ? `needs ${BPF_OBJECT}` : false;
  const crd = run.crdAtStart ? 'CRD at start' : 'CRD applied mid-test';
  describe(`e2e ClusterNetworkPolicy · ${datapath} · ${topology} · ${crd}`, { skip: dpSkip }, () => {
    const pinRoot = `/sys/fs/bpf/sluice-test-e2e-cnp-${process.pid}-${datapath}-${topology}`;
    let c: E2eCluster | undefined;
    const measured = new Map<string, Matrices>();
    before(async () => {
      c = await createE2eCluster({ datapath, pinRoot, topology, clusterNetworkPolicyCrd: run.crdAtStart });
    });
    after(async () => {
      try {
        await c?.destroy();
      } finally {
        await rm(pinRoot, { recursive: true, force: true });
      }
    });

    for (const step of steps(run)) {
      test(step.name, async (t) => {
        assert.ok(c !== undefined, 'the cluster did not start');
        await step.change(c);
        const since = Date.now();
        await checkCells(c, step.cells);
        const got = await converge(t, c, step, since);
        measured.set(step.id, got);
        if (step.log !== undefined) assert.match(c.agentLog(), step.log, agentTail(c));
        if (step.restores !== undefined) {
          const earlier = measured.get(step.restores);
          assert.ok(earlier !== undefined, `step ${step.restores} did not run`);
          assert.deepEqual(got, earlier, `the matrices of step "${step.restores}" are not restored`);
        }
      });
    }
  });
}
