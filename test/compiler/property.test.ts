/**
 * Property test: the compiled model answers every flow exactly as the naive
 * reference evaluator (test/reference/evaluator.ts) reading the policies per
 * packet, over thousands of small random clusters, for the whole cluster and
 * for one node: whether the packet passes, its outcome (allowed, denied,
 * would-deny) and the audited policies that would deny it. Four modes:
 * enforced policies only; a share of policies annotated audited;
 * `compile(…, { enforcement: 'audit' })`, every policy audited; and enforced
 * policies beside 0 to 4 ClusterNetworkPolicies of both tiers (Admin,
 * Baseline), where the run must also reach every tier and action. A
 * mismatch reports the seed, the flow, both verdicts, the reference's path
 * through the tiers and a shrunk snapshot as JSON.
 *
 * The reference is first checked on its own against hand-written rows (the
 * ClusterNetworkPolicy rows are in test/reference/evaluator-cnp.test.ts).
 *
 *   SLUICE_PROPERTY_SEEDS=20000 node --import tsx --test test/compiler/property.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, type CompileOptions } from '../../src/compiler/compile.js';
import { evaluateFlow } from '../../src/compiler/verdict.js';
import type { CompiledPolicy } from '../../src/model/compiled.js';
import type { ClusterSnapshot, NetworkPolicy, Pod } from '../../src/model/k8s.js';
import {
  outcomeOf,
  referenceOutcome,
  referenceTrace,
  referenceVerdict,
  type Flow,
  type FlowProtocol,
  type ReferenceOptions,
  type ReferenceOutcome,
  type ReferenceResult,
  type SideTrace,
} from '../reference/evaluator.js';
import { Random } from '../reference/prng.js';
import { randomCluster, randomFlows } from '../reference/random-cluster.js';
import { shrink } from '../reference/shrink.js';
import {
  audited,
  cluster,
  egress,
  expr,
  hostNetwork,
  ingress,
  ipPeer,
  named,
  ns,
  nsPeer,
  onNode,
  phase,
  pod,
  podPeer,
  policy,
  port,
  ports,
  rule,
  sel,
  selecting,
} from './builders.js';

// ---------------------------------------------------------------- the reference on its own

const a = pod('x/a', ['10.0.0.1', 'fd00::1'], { app: 'a' }, ports(['http', 8080], ['dns', 53, 'UDP']));
const b = pod('x/b', '10.0.0.2', { app: 'b' }, ports(['http', 80]));
const c = pod('y/c', '10.0.1.3', { app: 'c' }, onNode('node-b'));
const nsX = ns('x', { team: 'red' });
const nsY = ns('y', { team: 'blue' });
const OUT = '14.215.1.1';

function snap(policies: NetworkPolicy[], pods: Pod[] = [a, b, c]): ClusterSnapshot {
  return cluster([nsX, nsY], pods, policies);
}

function flow(src: string, dst: string, what: string): Flow {
  const [protocol, portText] = what.split('/') as [FlowProtocol, string | undefined];
  return { src, dst, protocol, port: Number(portText ?? 0) };
}

const denyIngressX = policy('x/deny', ingress());
const denyEgressX = policy('x/deny', egress());

const referenceCases: readonly {
  readonly name: string;
  readonly s: ClusterSnapshot;
  readonly flow: Flow;
  readonly node?: string;
  readonly want: boolean;
}[] = [
  { name: 'no policy: allowed', s: snap([]), flow: flow(OUT, '10.0.0.1', 'TCP/80'), want: true },
  { name: 'default deny ingress', s: snap([denyIngressX]), flow: flow(OUT, '10.0.0.1', 'TCP/80'), want: false },
  {
    name: 'default deny ingress: pod to pod',
    s: snap([denyIngressX]),
    flow: flow('10.0.1.3', '10.0.0.2', 'UDP/53'),
    want: false,
  },
  {
    name: 'default deny ingress: egress unaffected',
    s: snap([denyIngressX]),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: true,
  },
  { name: 'default deny egress', s: snap([denyEgressX]), flow: flow('10.0.0.1', OUT, 'ICMP'), want: false },
  {
    name: 'default deny: a pod to itself',
    s: snap([denyIngressX, policy('x/deny-e', egress())]),
    flow: flow('10.0.0.1', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'default deny: other namespace unaffected',
    s: snap([denyIngressX]),
    flow: flow('10.0.0.1', '10.0.1.3', 'TCP/80'),
    want: true,
  },
  {
    name: 'rules of a direction not in policyTypes are ignored',
    s: snap([{ ...policy('x/np', egress()), egress: [rule()] }].map((p) => ({ ...p, egressEnabled: false }))),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: inside cidr',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.0.0/16', '10.0.1.0/24')])))]),
    flow: flow('10.0.2.9', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: except applies to pod addresses too',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.0.0/16', '10.0.1.0/24')])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'ipBlock: cidr matches a pod address',
    s: snap([policy('x/np', ingress(rule([ipPeer('10.0.1.3/32')])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'ipBlock: v4 cidr does not match v6',
    s: snap([policy('x/np', ingress(rule([ipPeer('0.0.0.0/0')])))]),
    flow: flow('2001:db8::1', 'fd00::1', 'TCP/80'),
    want: false,
  },
  {
    name: 'named egress port: resolved on the destination pod',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', '10.0.0.2', 'TCP/80'),
    want: true,
  },
  {
    name: 'named egress port: not the source pod port',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', '10.0.0.2', 'TCP/8080'),
    want: false,
  },
  {
    name: 'named egress port: never matches a non-pod address',
    s: snap([policy('x/np', selecting(sel({ app: 'a' })), egress(rule(undefined, [named('http')])))]),
    flow: flow('10.0.0.1', OUT, 'TCP/80'),
    want: false,
  },
  {
    name: 'named egress port: protocol must match',
    s: snap([policy('x/np', selecting(sel({ app: 'b' })), egress(rule(undefined, [named('dns', 'TCP')])))]),
    flow: flow('10.0.0.2', '10.0.0.1', 'TCP/53'),
    want: false,
  },
  {
    name: 'named ingress port: resolved on the selected pod',
    s: snap([policy('x/np', ingress(rule(undefined, [named('dns', 'UDP')])))]),
    flow: flow(OUT, '10.0.0.1', 'UDP/53'),
    want: true,
  },
  {
    name: 'ICMP needs a rule without ports',
    s: snap([policy('x/np', ingress(rule(undefined, [port(1, 'TCP', 65535)])))]),
    flow: flow(OUT, '10.0.0.1', 'ICMP'),
    want: false,
  },
  {
    name: 'ICMP: rule without ports',
    s: snap([policy('x/np', ingress(rule()))]),
    flow: flow(OUT, '10.0.0.1', 'ICMP'),
    want: true,
  },
  {
    name: 'endPort range is inclusive',
    s: snap([policy('x/np', ingress(rule(undefined, [port(1000, 'SCTP', 1010)])))]),
    flow: flow(OUT, '10.0.0.1', 'SCTP/1010'),
    want: true,
  },
  {
    name: 'podSelector alone: policy namespace only',
    s: snap([policy('x/np', ingress(rule([podPeer(sel({ app: 'c' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'namespaceSelector and podSelector',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({ team: 'blue' }), sel({ app: 'c' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'namespaceSelector alone: every pod there',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({}, expr('team', 'NotIn', 'red')))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'NotIn matches a pod without the key',
    s: snap([policy('x/np', selecting(sel({}, expr('tier', 'NotIn', 'fe'))), ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'DoesNotExist does not match a pod with the key',
    s: snap([policy('x/np', selecting(sel({}, expr('app', 'DoesNotExist'))), ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'node: pods elsewhere are not enforced',
    s: snap([policy('y/deny', ingress())]),
    flow: flow(OUT, '10.0.1.3', 'TCP/80'),
    node: 'node-a',
    want: true,
  },
  {
    name: 'node: pods elsewhere are still peers',
    s: snap([policy('x/np', ingress(rule([nsPeer(sel({ team: 'blue' }))])))]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    node: 'node-a',
    want: true,
  },
  {
    name: 'hostNetwork pod is not an endpoint',
    s: snap([denyIngressX], [a, pod('x/h', '192.168.0.1', {}, hostNetwork)]),
    flow: flow(OUT, '192.168.0.1', 'TCP/80'),
    want: true,
  },
  {
    name: 'hostNetwork pod is not a pod peer',
    s: snap([policy('x/np', ingress(rule([podPeer(sel())])))], [a, pod('x/h', '192.168.0.1', {}, hostNetwork)]),
    flow: flow('192.168.0.1', '10.0.0.1', 'TCP/80'),
    want: false,
  },
  {
    name: 'a terminated pod does not own its old address',
    s: snap(
      [policy('x/np', ingress(rule([podPeer(sel({ app: 'old' }))])))],
      [a, pod('x/old', '10.0.0.9', { app: 'old' }, phase('Succeeded'))],
    ),
    flow: flow('10.0.0.9', '10.0.0.1', 'TCP/80'),
    want: false,
  },
];

for (const rc of referenceCases) {
  test(`reference: ${rc.name}`, () => {
    assert.equal(referenceVerdict(rc.s, rc.flow, rc.node), rc.want);
    assert.deepEqual(referenceOutcome(rc.s, rc.flow, { nodeName: rc.node }), {
      allowed: rc.want,
      outcome: rc.want ? 'allowed' : 'denied',
      wouldDenyBy: [],
    });
  });
}

const fromB = rule([podPeer(sel({ app: 'b' }))]);

const referenceAuditCases: readonly {
  readonly name: string;
  readonly s: ClusterSnapshot;
  readonly flow: Flow;
  readonly node?: string;
  readonly auditAll?: boolean;
  readonly want: readonly [ReferenceOutcome, readonly string[]];
}[] = [
  {
    name: 'audited default deny: passes as would-deny',
    s: snap([audited(denyIngressX)]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['would-deny', ['x/deny']],
  },
  {
    name: 'audited policy: what its rules allow is allowed',
    s: snap([policy('x/np', audited, ingress(rule(undefined, [port(80)])))]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['allowed', []],
  },
  {
    name: 'audited policies: allows add up',
    s: snap([policy('x/a1', audited, ingress(rule(undefined, [port(80)]))), policy('x/a2', audited, ingress(fromB))]),
    flow: flow('10.0.0.2', '10.0.0.1', 'TCP/81'),
    want: ['allowed', []],
  },
  {
    name: 'audited policies: every one is named when none allows',
    s: snap([policy('x/a2', audited, ingress(fromB)), policy('x/a1', audited, ingress(rule(undefined, [port(80)])))]),
    flow: flow(OUT, '10.0.0.1', 'TCP/81'),
    want: ['would-deny', ['x/a1', 'x/a2']],
  },
  {
    name: 'enforced beside audited: the audited allow-all does not widen it',
    s: snap([denyIngressX, policy('x/all', audited, ingress(rule()))]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['denied', []],
  },
  {
    name: 'enforced allow beside audited deny: the audited policy reports nothing',
    s: snap([policy('x/allow', ingress(rule())), policy('x/deny', audited, ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['allowed', []],
  },
  {
    name: 'an enforced policy selecting another pod does not take over',
    s: snap([policy('x/deny-b', selecting(sel({ app: 'b' })), ingress()), policy('x/deny', audited, ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['would-deny', ['x/deny']],
  },
  {
    name: 'an enforced policy of the other direction does not take over',
    s: snap([policy('x/no-out', egress()), policy('x/no-in', audited, ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    want: ['would-deny', ['x/no-in']],
  },
  {
    name: 'a real deny on the other side wins over audit',
    s: snap([policy('x/no-out', egress()), policy('y/no-in', audited, ingress())]),
    flow: flow('10.0.0.1', '10.0.1.3', 'TCP/80'),
    want: ['denied', []],
  },
  {
    name: 'both sides would deny: every policy named once, sorted',
    s: snap([policy('y/no-out', audited, egress()), policy('x/no-in', audited, ingress())]),
    flow: flow('10.0.1.3', '10.0.0.1', 'TCP/80'),
    want: ['would-deny', ['x/no-in', 'y/no-out']],
  },
  {
    name: 'a pod to itself is never would-deny',
    s: snap([policy('x/no-out', audited, egress()), policy('x/no-in', audited, ingress())]),
    flow: flow('10.0.0.1', '10.0.0.1', 'TCP/80'),
    want: ['allowed', []],
  },
  {
    name: 'node: an audited pod elsewhere reports nothing',
    s: snap([policy('y/deny', audited, ingress())]),
    flow: flow(OUT, '10.0.1.3', 'TCP/80'),
    node: 'node-a',
    want: ['allowed', []],
  },
  {
    name: 'every policy audited: an enforced deny becomes would-deny',
    s: snap([denyIngressX]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    auditAll: true,
    want: ['would-deny', ['x/deny']],
  },
  {
    name: 'every policy audited: enforced and audited allows add up',
    s: snap([policy('x/allow-b', ingress(fromB)), policy('x/deny', audited, ingress())]),
    flow: flow('10.0.0.2', '10.0.0.1', 'TCP/80'),
    auditAll: true,
    want: ['allowed', []],
  },
  {
    name: 'every policy audited: enforced and audited policies are named together',
    s: snap([policy('x/allow-b', ingress(fromB)), policy('x/deny', audited, ingress())]),
    flow: flow(OUT, '10.0.0.1', 'TCP/80'),
    auditAll: true,
    want: ['would-deny', ['x/allow-b', 'x/deny']],
  },
];

for (const rc of referenceAuditCases) {
  test(`reference, audit: ${rc.name}`, () => {
    const [outcome, wouldDenyBy] = rc.want;
    assert.deepEqual(referenceOutcome(rc.s, rc.flow, { nodeName: rc.node, auditAll: rc.auditAll ?? false }), {
      allowed: outcome !== 'denied',
      outcome,
      wouldDenyBy,
    });
  });
}

test('compiled path: a pod talking to itself is allowed and flagged self', () => {
  const v = evaluateFlow(
    compile(snap([denyIngressX, policy('x/deny-e', egress())])),
    flow('10.0.0.1', '10.0.0.1', 'TCP/80'),
  );
  assert.equal(v.allowed, true);
  assert.equal(v.self, true);
});

// ---------------------------------------------------------------- compiled vs reference

const SEEDS = Number(process.env['SLUICE_PROPERTY_SEEDS'] ?? '5000');
const FLOWS_PER_CLUSTER = 30;
/** Share of random policies annotated audited in the audit modes. */
const AUDIT_SHARE = 0.3;

interface Mode {
  readonly name: string;
  /** Passed to `randomCluster`: 0 keeps the clusters of a seed as they were before audit mode. */
  readonly auditShare: number;
  /** Passed to `randomCluster`: false keeps the clusters of a seed as they were before ClusterNetworkPolicies. */
  readonly clusterPolicies: boolean;
  readonly compile: CompileOptions;
  /** Outcomes a run must see at least once, so that the mode really exercises them. */
  readonly expect: readonly ReferenceOutcome[];
  /** Tier steps (`Admin Pass`, …; see `pathsOf`) a run must see at least once; none: not counted. */
  readonly expectSteps?: readonly string[];
}

const MODES: readonly Mode[] = [
  { name: 'enforced policies', auditShare: 0, clusterPolicies: false, compile: {}, expect: ['allowed', 'denied'] },
  {
    name: `${AUDIT_SHARE * 100}% audited policies`,
    auditShare: AUDIT_SHARE,
    clusterPolicies: false,
    compile: {},
    expect: ['allowed', 'denied', 'would-deny'],
  },
  {
    name: "enforcement 'audit'",
    auditShare: AUDIT_SHARE,
    clusterPolicies: false,
    compile: { enforcement: 'audit' },
    expect: ['allowed', 'would-deny'],
  },
  {
    name: 'ClusterNetworkPolicies',
    auditShare: 0,
    clusterPolicies: true,
    compile: {},
    expect: ['allowed', 'denied'],
    expectSteps: [
      'Admin Accept',
      'Admin Deny',
      'Admin Pass',
      'Admin Pass, NetworkPolicy Accept',
      'Admin Pass, NetworkPolicy Deny',
      'Admin Pass, Baseline Deny',
      'NetworkPolicy Accept',
      'NetworkPolicy Deny',
      'Baseline Accept',
      'Baseline Deny',
      'Baseline Pass',
      'default',
    ],
  },
];

/** Each judged side's path through the tiers: `Admin Pass, NetworkPolicy Deny`; `default` when no tier had a say. */
function pathsOf(sides: readonly SideTrace[]): string[] {
  return sides.map((x) => x.steps.map((t) => `${t.tier} ${t.action}`).join(', ') || 'default');
}

interface Case {
  readonly node: string | undefined;
  readonly mode: Mode;
}

function referenceOptions(c: Case): ReferenceOptions {
  return { nodeName: c.node, auditAll: c.mode.compile.enforcement === 'audit' };
}

/** What the property compares: the reference's answer, read off the compiled verdict. */
function compiledResult(model: CompiledPolicy, f: Flow): ReferenceResult & { readonly wouldDeny: boolean } {
  const v = evaluateFlow(model, f);
  return { allowed: v.allowed, outcome: v.outcome, wouldDenyBy: v.wouldDenyBy, wouldDeny: v.wouldDeny };
}

function sameResult(compiled: ReturnType<typeof compiledResult>, want: ReferenceResult): boolean {
  return (
    compiled.allowed === want.allowed &&
    compiled.outcome === want.outcome &&
    compiled.wouldDeny === (want.outcome === 'would-deny') &&
    compiled.wouldDenyBy.length === want.wouldDenyBy.length &&
    compiled.wouldDenyBy.every((id, i) => id === want.wouldDenyBy[i])
  );
}

function mismatches(s: ClusterSnapshot, f: Flow, c: Case): boolean {
  try {
    return !sameResult(
      compiledResult(compile(s, c.node, c.mode.compile), f),
      referenceOutcome(s, f, referenceOptions(c)),
    );
  } catch {
    return false; // shrink toward the same failure, not toward a crash
  }
}

/** `shrink`, then: each audited policy made enforced where the failure stays, shrinking again after each. */
function shrinkAll(s: ClusterSnapshot, fails: (c: ClusterSnapshot) => boolean): ClusterSnapshot {
  let current = shrink(s, fails);
  for (let i = 0; i < current.policies.length; i++) {
    if (current.policies[i]?.enforcement !== 'audit') continue;
    const policies = current.policies.map((p, j): NetworkPolicy => (j === i ? { ...p, enforcement: 'enforce' } : p));
    const enforced = { ...current, policies };
    if (fails(enforced)) {
      current = shrink(enforced, fails);
      i = -1; // the list may have shrunk: start over
    }
  }
  return current;
}

/** Mismatching flows by kind: `reference denied, compiled allowed: 12`, … */
type MismatchCounts = Map<string, number>;

function mismatchKind(compiled: ReturnType<typeof compiledResult>, want: ReferenceResult): string {
  return `reference ${want.outcome}, compiled ${compiled.outcome}`;
}

function report(
  seed: number,
  c: Case,
  f: Flow,
  s: ClusterSnapshot,
  failingSeeds: number,
  kinds: MismatchCounts,
): string {
  const small = shrinkAll(s, (x) => mismatches(x, f, c));
  const verdict = evaluateFlow(compile(small, c.node, c.mode.compile), f);
  const byKind = [...kinds].map(([k, n]) => `${k}: ${n}`).join('; ');
  return [
    `${failingSeeds} of ${SEEDS} seeds mismatch (${c.mode.name}); first: seed ${seed}, node ${c.node ?? '(all)'}`,
    `mismatching flows: ${byKind}`,
    `compile options ${JSON.stringify(c.mode.compile)}, random audit share ${c.mode.auditShare}`,
    `random ClusterNetworkPolicies ${c.mode.clusterPolicies}`,
    `flow ${JSON.stringify(f)}`,
    `reference ${JSON.stringify(referenceOutcome(small, f, referenceOptions(c)))}`,
    `reference path ${JSON.stringify(referenceTrace(small, f, referenceOptions(c)))}`,
    `compiled  ${JSON.stringify(compiledResult(compile(small, c.node, c.mode.compile), f))}`,
    `compiled verdict: ${JSON.stringify(verdict)}`,
    `shrunk snapshot: ${JSON.stringify(small)}`,
    `original snapshot: ${JSON.stringify(s)}`,
  ].join('\n');
}

for (const mode of MODES) {
  for (const node of [undefined, 'node-a']) {
    const c: Case = { node, mode };
    test(`compiled verdicts equal the reference on ${SEEDS} random clusters, ${mode.name} (node ${node ?? 'all'})`, (t) => {
      let first: string | undefined;
      let failing = 0;
      let firstCase: { seed: number; flow: Flow; s: ClusterSnapshot } | undefined;
      const seen = new Map<ReferenceOutcome, number>();
      const steps = new Map<string, number>();
      const kinds: MismatchCounts = new Map();
      const count = <K>(m: Map<K, number>, k: K): void => {
        m.set(k, (m.get(k) ?? 0) + 1);
      };
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = new Random(seed);
        const s = randomCluster(r, { auditShare: mode.auditShare, clusterPolicies: mode.clusterPolicies });
        const flows = randomFlows(r, s, FLOWS_PER_CLUSTER);
        let model;
        try {
          model = compile(s, node, mode.compile);
        } catch (err) {
          failing++;
          first ??= `seed ${seed} (${mode.name}): compile threw ${String(err)}\nsnapshot: ${JSON.stringify(s)}`;
          continue;
        }
        let bad: Flow | undefined;
        for (const f of flows) {
          const sides = referenceTrace(s, f, referenceOptions(c));
          const want = outcomeOf(sides);
          count(seen, want.outcome);
          if (mode.expectSteps !== undefined) for (const path of pathsOf(sides)) count(steps, path);
          const got = compiledResult(model, f);
          if (sameResult(got, want)) continue;
          count(kinds, mismatchKind(got, want));
          bad ??= f;
        }
        if (bad === undefined) continue;
        failing++;
        firstCase ??= { seed, flow: bad, s };
      }
      if (first === undefined && firstCase !== undefined) {
        first = report(firstCase.seed, c, firstCase.flow, firstCase.s, failing, kinds);
      }
      if (mode.expectSteps !== undefined) t.diagnostic(`sides by path: ${JSON.stringify(Object.fromEntries(steps))}`);
      assert.equal(failing, 0, first);
      // The generator must keep exercising the mode: every expected outcome occurs, and no other.
      const counts = JSON.stringify(Object.fromEntries(seen));
      for (const outcome of mode.expect) assert.ok((seen.get(outcome) ?? 0) > 0, `no ${outcome} flow: ${counts}`);
      for (const outcome of seen.keys()) assert.ok(mode.expect.includes(outcome), `unexpected ${outcome}: ${counts}`);
      const paths = JSON.stringify(Object.fromEntries(steps));
      for (const path of mode.expectSteps ?? []) assert.ok((steps.get(path) ?? 0) > 0, `no side ${path}: ${paths}`);
    });
  }
}
