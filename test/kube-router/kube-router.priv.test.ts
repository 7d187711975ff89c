/**
 * kube-router's network policy controller on the end-to-end cluster (root
 * only): a real kube-apiserver and etcd, the harness pods created through the
 * API, kube-router as a process in the node namespace with only its firewall.
 * Real TCP connections between every pod pair must equal `sluice simulate` on
 * the objects read back from the API server, before and after one
 * NetworkPolicy, and listed cells pin what that policy means so that a step
 * cannot pass by enforcing nothing. Stopping it leaves the namespace as it
 * was before it started and the host's own firewall as it was before the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { controlPlaneSkip } from '../cluster/control-plane.js';
import { createE2eBase, type E2eCluster } from '../e2e/e2e-cluster.js';
import { isRoot, SERVICE_CIDR, TOPOLOGIES } from '../support/netns.js';
import { firewallState, hostFirewall, type FirewallState } from './firewall-state.js';
import { kubeRouterSkip, startKubeRouter, type KubeRouter } from './kube-router.js';

type Cell = readonly [from: string, to: string, port: number, allowed: boolean];

const POLICY = JSON.stringify({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'a-from-b', namespace: 'x' },
  spec: {
    podSelector: { matchLabels: { app: 'a' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
  },
});

const STEPS: readonly { name: string; policy?: string; ports: readonly number[]; cells: readonly Cell[] }[] = [
  {
    name: 'no policy: every pod reaches every pod',
    ports: [80],
    cells: [
      ['y/c', 'x/a', 80, true],
      ['r/remote', 'x/a', 80, true],
    ],
  },
  {
    name: 'a accepts only b, on TCP/80',
    policy: POLICY,
    ports: [80, 81],
    cells: [
      ['x/b', 'x/a', 80, true],
      ['y/c', 'x/a', 80, false],
      ['r/remote', 'x/a', 80, false],
      ['x/b', 'x/a', 81, false],
      ['x/a', 'x/b', 80, true],
      ['r/remote', 'y/c', 81, true],
    ],
  },
];

const skip = !isRoot() ? 'needs root: network namespaces, iptables and ipset' : controlPlaneSkip() || kubeRouterSkip();

for (const topology of TOPOLOGIES) {
  describe(`kube-router · ${topology} · real kube-apiserver`, { skip }, () => {
    let c: E2eCluster | undefined;
    let kr: KubeRouter | undefined;
    let hostBefore = '';
    let nsBefore: FirewallState | undefined;
    const started = (): { c: E2eCluster; kr: KubeRouter } => {
      assert.ok(c !== undefined && kr !== undefined, 'the cluster or kube-router did not start');
      return { c, kr };
    };

    before(async () => {
      hostBefore = await hostFirewall();
      c = await createE2eBase(topology);
      nsBefore = await firewallState(c.node.name);
      kr = await startKubeRouter({
        netns: c.node.name,
        kubeconfig: c.cp.kubeconfig,
        nodeName: 'node-a',
        serviceCidr: SERVICE_CIDR,
      });
    });
    after(async () => {
      try {
        await kr?.stop();
      } finally {
        await c?.destroy();
      }
    });

    test('first sync: a firewall chain per local pod, in the node namespace only', async (t) => {
      const { kr } = started();
      const s = await kr.state();
      const pods = (family: string): number => s.chains.filter((ch) => ch.startsWith(`${family} KUBE-POD-FW-`)).length;
      assert.equal(pods('ipv4'), 3, `x/a, x/b, y/c on node-a, not r/remote on node-b: ${s.chains.join(', ')}`);
      assert.equal(pods('ipv6'), 0, 'IPv6 is off (kube-router#1653)');
      for (const top of ['INPUT', 'FORWARD', 'OUTPUT']) assert.ok(s.chains.includes(`ipv4 KUBE-ROUTER-${top}`));
      assert.equal(await hostFirewall(), hostBefore, "the host's own iptables and ipsets are untouched");
      const mem = await kr.memory();
      const first = kr.syncs()[0];
      t.diagnostic(`first sync done ${first?.atMs} ms after spawn (took ${first?.tookMs.toFixed(0)} ms)`);
      t.diagnostic(`${s.rules.ipv4} IPv4 rules, ${s.ipsets} ipsets, RSS ${mem.rssKiB} KiB`);
    });

    for (const step of STEPS) {
      test(step.name, async (t) => {
        const { c, kr } = started();
        const synced = kr.syncs().length;
        const since = Date.now();
        if (step.policy !== undefined) {
          await c.kubectl(['apply', '-f', '-'], step.policy);
          await kr.waitForSyncs(synced + 1, 20_000);
        }
        for (const port of step.ports) {
          const want = await c.simulate(port);
          let got = await c.measure(port, want.pods);
          // A sync that began before the change can end after it: retry a mismatch until the next one.
          for (let i = 0; i < 10 && JSON.stringify(got.allowed) !== JSON.stringify(want.allowed); i++) {
            await new Promise((r) => setTimeout(r, 500));
            got = await c.measure(port, want.pods);
          }
          assert.deepEqual(
            got.allowed,
            want.allowed,
            `TCP/${port}: real packets ≠ sluice simulate\n${kr.log().slice(-3000)}`,
          );
        }
        for (const [from, to, port, allowed] of step.cells) {
          const m = await c.simulate(port);
          assert.equal(m.allowed[m.pods.indexOf(from)]?.[m.pods.indexOf(to)], allowed, `${from} → ${to} TCP/${port}`);
        }
        const s = await kr.state();
        t.diagnostic(
          `enforced ${Date.now() - since} ms after kubectl; syncs took ` +
            `${kr
              .syncs()
              .map((x) => x.tookMs.toFixed(0))
              .join(', ')} ms; ${s.rules.ipv4} IPv4 rules, ${s.ipsets} ipsets`,
        );
      });
    }

    test("stop: no chain or set of kube-router remains, the host's firewall is unchanged", async () => {
      const { c, kr } = started();
      await kr.stop();
      const s = await firewallState(c.node.name);
      assert.deepEqual(s.chains, []);
      assert.deepEqual(s.sets, []);
      assert.deepEqual(s, nsBefore, 'the node namespace is as it was before kube-router started');
      assert.equal(await hostFirewall(), hostBefore);
    });
  });
}
