/**
 * Audit mode of the iptables datapath on real packets (root only), for every
 * iptables backend that works here, in both topologies: pods x/a and x/b on
 * one node. An audited default-deny of a's ingress lets b → a pass and
 * counts it for x/a ingress; an audited allow is not counted; counts carry
 * over an apply; the same policy enforced denies, cuts an open connection
 * and reports no row. The steps run in order and share the node.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { compile } from '../../src/compiler/compile.js';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import type { WouldDenyCount } from '../../src/datapath/types.js';
import type { NetworkPolicy } from '../../src/model/k8s.js';
import { audited, cluster, ingress, ns, podPeer, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { createNode, isRoot, TOPOLOGIES, type NodeNs } from '../support/netns.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
const variants: IptablesVariant[] = (['iptables-nft', 'iptables-legacy'] as const).filter((v) => works(v));

const onlyA = selecting(sel({ app: 'a' }));
/** Audited default-deny of a's ingress. */
const auditedDeny = policy('x/deny', onlyA, audited, ingress());
/** Audited, allowing b → a TCP/81 only: TCP/80 would still be denied. */
const auditedAllow81 = policy('x/deny', onlyA, audited, ingress(rule([podPeer(sel({ app: 'b' }))], [port(81)])));
/** The same default-deny, enforced. */
const enforcedDeny = policy('x/deny', onlyA, ingress());

/** x/a's ingress row, asserting it is the only row. */
function aIngress(rows: readonly WouldDenyCount[]): number {
  assert.deepEqual(
    rows.map((r) => [r.pod, r.direction]),
    [['x/a', 'ingress']],
  );
  return rows[0]?.packets ?? -1;
}

async function verifyClean(variant: IptablesVariant, node: NodeNs): Promise<void> {
  const six = variant.replace('iptables', 'ip6tables');
  for (const save of [`${variant}-save`, `${six}-save`]) {
    assert.doesNotMatch(await node.exec(save, ['-t', 'filter']), /SLUICE/, `${save} still shows SLUICE`);
  }
  assert.doesNotMatch(await node.exec('ipset', ['list', '-n']), /^sluice-/m, 'sluice- sets left behind');
}

for (const variant of variants) {
  for (const topology of TOPOLOGIES) {
    const skip = isRoot() ? false : 'needs root: network namespaces and netfilter';
    describe(`iptables audit (${variant}) · ${topology}`, { skip }, () => {
      let node: NodeNs | undefined;
      let dp: IptablesDatapath | undefined;
      const ready = (): { n: NodeNs; d: IptablesDatapath } => {
        assert.ok(node !== undefined && dp !== undefined, 'node not set up');
        return { n: node, d: dp };
      };
      const apply = async (p: NetworkPolicy): Promise<void> => {
        const { n, d } = ready();
        const pods = [...n.pods.values(), n.remote].map((x) => x.pod);
        await d.apply(compile(cluster([ns('x'), ns('r')], pods, [p]), 'node-a'), n.nodeContext);
      };
      const b = () => ready().n.pod('x/b').agent;
      const a = () => ready().n.pod('x/a');
      /** A connection b → a TCP/80 opened under audit, used across the later applies. */
      let kept: number | undefined;

      before(async () => {
        node = await createNode({
          topology,
          pods: [
            { id: 'x/a', labels: { app: 'a' } },
            { id: 'x/b', labels: { app: 'b' } },
          ],
          natIptables: variant,
        });
        await Promise.all([80, 81].map((p) => node?.pod('x/a').agent.listen('tcp', p)));
        dp = new IptablesDatapath({ iptables: variant, netns: node.name });
      });

      after(async () => {
        try {
          await dp?.cleanup();
          await dp?.close();
        } finally {
          await node?.destroy();
        }
      });

      test('before any apply: no rows', async () => {
        assert.deepEqual(await ready().d.wouldDeny(), []);
      });

      test('audited default-deny: b → a TCP/80 passes (IPv4, IPv6), counted for x/a ingress only', async () => {
        await apply(auditedDeny);
        assert.equal(aIngress(await ready().d.wouldDeny()), 0, 'a fresh audited row counts 0');
        assert.equal(await b().tcp(a().v4, 80), true, 'IPv4');
        assert.equal(await b().tcp(a().v6, 80), true, 'IPv6');
        kept = await b().open(a().v4, 80);
        assert.notEqual(kept, undefined, 'kept connection opened');
        // One judged packet (the SYN) per connection: three connections, v4 and v6 sets summed.
        assert.ok(aIngress(await ready().d.wouldDeny()) >= 3);
      });

      test('audited allow: counts carry over the apply; an open flow is judged again; allowed is not counted', async () => {
        const { d } = ready();
        const before = aIngress(await d.wouldDeny());
        await apply(auditedAllow81);
        assert.equal(aIngress(await d.wouldDeny()), before, 'carried over the new set generation');
        assert.equal(await b().send(kept ?? -1), true, 'kept connection still passes');
        const afterKept = aIngress(await d.wouldDeny());
        assert.ok(afterKept > before, 'its next packet was judged again and would be denied');
        assert.equal(await b().tcp(a().v4, 81), true, 'TCP/81 allowed');
        assert.equal(aIngress(await d.wouldDeny()), afterKept, 'an allowed flow is not counted');
        assert.equal(await b().tcp(a().v4, 80), true, 'TCP/80 would deny, passes');
        assert.ok(aIngress(await d.wouldDeny()) > afterKept);
      });

      test('enforced default-deny: b → a TCP/80 denied, the open connection cut, no row', async () => {
        const { d } = ready();
        await apply(enforcedDeny);
        assert.equal(await b().send(kept ?? -1), false, 'kept connection cut');
        assert.equal(await b().tcp(a().v4, 80), false, 'IPv4');
        assert.equal(await b().tcp(a().v6, 80), false, 'IPv6');
        assert.deepEqual(await d.wouldDeny(), []);
      });

      test('audited again: the row starts again (not carried through the enforced apply) and counts', async () => {
        const { d } = ready();
        await apply(auditedDeny);
        // The cut connection still retransmits: its next segment passes now and
        // is counted once (then it is marked), so 0 or 1, never the old total (≥ 5).
        const restarted = aIngress(await d.wouldDeny());
        assert.ok(restarted <= 1, `restarted at ${restarted}`);
        assert.equal(await b().tcp(a().v6, 80), true);
        assert.ok(aIngress(await d.wouldDeny()) > restarted);
      });

      test('cleanup leaves nothing behind and forgets the rows', async () => {
        const { n, d } = ready();
        await d.cleanup();
        await verifyClean(variant, n);
        assert.deepEqual(await d.wouldDeny(), []);
      });
    });
  }
}
