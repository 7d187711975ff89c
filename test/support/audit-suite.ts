/**
 * Audit mode on real packets, one scenario for every datapath (as
 * conformance.ts): a test file calls `auditSuite({ name, datapath })`.
 *
 * Node `node-a` runs x/a (server), x/b and x/c. Phase 1: `x/deny` is an
 * audited default-deny of x/a's ingress beside an audited egress policy of
 * x/b that allows only x/a, and an enforced egress deny of x/c (an enforced
 * policy decides alone): what the audited policies would deny passes and is
 * counted per endpoint direction (Datapath.wouldDeny) and per policy
 * (sluice_policy_would_deny_total). Phase 2: the same policies with the
 * annotation gone (enforced): the flows they deny are cut, the open TCP
 * connection and the UDP 5-tuple included, and nothing is counted any more.
 * Phase 3: audited again, the counts start over.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { WouldDenyMetric } from '../../src/agent/would-deny.js';
import { compile } from '../../src/compiler/compile.js';
import type { Datapath, WouldDenyCount } from '../../src/datapath/types.js';
import type { NetworkPolicy } from '../../src/model/k8s.js';
import { silentLogger } from '../../src/util/log.js';
import { audited, cluster, egress, ingress, ns, podPeer, policy, rule, sel, selecting } from '../compiler/builders.js';
import { createNode, isRoot, trackConnections, type DatapathFactory, type NodeNs, type PodNs } from './netns.js';

export interface AuditSuiteOptions {
  readonly name: string;
  readonly datapath: DatapathFactory;
  /** Extra checks on the node while phase 1 (audit) is programmed. */
  readonly duringAudit?: (node: NodeNs) => Promise<void>;
  /** Make the node's netfilter track connections, as kube-proxy does (for the kernel-conntrack build). */
  readonly trackConnections?: boolean;
}

const UDP_SOURCE_PORT = 40054;

/** The three policies; `audit` says whether the first two carry the annotation. */
function policies(audit: boolean): NetworkPolicy[] {
  const maybe = audit ? [audited] : [];
  return [
    policy('x/deny', ...maybe, selecting(sel({ app: 'a' })), ingress()),
    policy('x/b-out', ...maybe, selecting(sel({ app: 'b' })), egress(rule([podPeer(sel({ app: 'a' }))]))),
    policy('x/c-out', selecting(sel({ app: 'c' })), egress()),
  ];
}

interface Phase {
  readonly flows: Record<string, boolean>;
  readonly counts: readonly WouldDenyCount[];
  readonly metric: string;
}

export function auditSuite(opts: AuditSuiteOptions): void {
  const skip = isRoot() ? false : 'needs root: network namespaces and the datapath';
  describe(`${opts.name}: audit mode`, { skip }, () => {
    let node: NodeNs | undefined;
    let dp: Datapath | undefined;
    const phases: Phase[] = [];
    let cut: { before: boolean; after: boolean } | undefined;
    let reaudited: readonly WouldDenyCount[] | undefined;

    before(async () => {
      node = await createNode({
        topology: 'routed',
        pods: [
          { id: 'x/a', labels: { app: 'a' } },
          { id: 'x/b', labels: { app: 'b' } },
          { id: 'x/c', labels: { app: 'c' } },
        ],
      });
      const n = node;
      if (opts.trackConnections === true) await trackConnections(n);
      for (const p of n.pods.values()) await Promise.all([p.agent.listen('tcp', 80), p.agent.listen('udp', 53)]);
      const datapath = opts.datapath(n);
      dp = datapath;
      const registry = new Registry();
      const metric = new WouldDenyMetric(registry, () => datapath.wouldDeny(), silentLogger());
      const pod = (id: string): PodNs => n.pod(id);
      const apply = async (audit: boolean): Promise<void> => {
        const model = compile(
          cluster(
            [ns('x')],
            [...n.pods.values()].map((p) => p.pod),
            policies(audit),
          ),
          'node-a',
        );
        await datapath.apply(model, n.nodeContext);
        metric.sync({ ok: true, model } as Parameters<WouldDenyMetric['sync']>[0]);
      };
      const measure = async (): Promise<Record<string, boolean>> => ({
        'b → a TCP/80': await pod('x/b').agent.tcp(pod('x/a').v4, 80),
        'c → a TCP/80': await pod('x/c').agent.tcp(pod('x/a').v4, 80),
        'b → c TCP/80': await pod('x/b').agent.tcp(pod('x/c').v4, 80),
        'a → b TCP/80': await pod('x/a').agent.tcp(pod('x/b').v4, 80),
        'b → a UDP/53': await pod('x/b').agent.udp(pod('x/a').v4, 53, { sourcePort: UDP_SOURCE_PORT }),
      });
      const scrape = async (): Promise<string> => registry.getSingleMetricAsString('sluice_policy_would_deny_total');

      await apply(true);
      const open = await pod('x/b').agent.open(pod('x/a').v4, 80);
      const flows = await measure();
      await opts.duringAudit?.(n);
      phases.push({ flows, counts: await datapath.wouldDeny(), metric: await scrape() });
      const sentBefore = open !== undefined && (await pod('x/b').agent.send(open));
      await apply(false);
      cut = { before: sentBefore, after: open !== undefined && (await pod('x/b').agent.send(open)) };
      phases.push({ flows: await measure(), counts: await datapath.wouldDeny(), metric: await scrape() });
      await apply(true);
      reaudited = await datapath.wouldDeny();
    });

    after(async () => {
      try {
        await dp?.cleanup();
        await dp?.close();
      } finally {
        await node?.destroy();
      }
    });

    const phase = (i: number): Phase => {
      const p = phases[i];
      assert.ok(p !== undefined, `phase ${i + 1} did not run`);
      return p;
    };

    test('audited: what the audited policies would deny passes; an enforced policy beside them still denies', () => {
      assert.deepEqual(phase(0).flows, {
        'b → a TCP/80': true,
        'c → a TCP/80': false,
        'b → c TCP/80': true,
        'a → b TCP/80': true,
        'b → a UDP/53': true,
      });
      // x/c-out is enforced: c's egress to a is denied although a's ingress is only audited.
    });

    test('audited: would-deny counted per endpoint direction, credited to each audited policy', () => {
      const byKey = new Map(phase(0).counts.map((c) => [`${c.pod} ${c.direction}`, c.packets]));
      assert.deepEqual([...byKey.keys()].sort(), ['x/a ingress', 'x/b egress']);
      assert.ok((byKey.get('x/a ingress') ?? 0) >= 3, `x/a ingress: ${byKey.get('x/a ingress')}`);
      assert.ok((byKey.get('x/b egress') ?? 0) >= 1, `x/b egress: ${byKey.get('x/b egress')}`);
      assert.match(phase(0).metric, /sluice_policy_would_deny_total\{namespace="x",policy="deny"\} [1-9]/);
      assert.match(phase(0).metric, /sluice_policy_would_deny_total\{namespace="x",policy="b-out"\} [1-9]/);
      assert.doesNotMatch(phase(0).metric, /policy="c-out"/);
    });

    test('annotation removed: the same policies enforce, open flows included, and count no more', () => {
      assert.deepEqual(phase(1).flows, {
        'b → a TCP/80': false,
        'c → a TCP/80': false,
        'b → c TCP/80': false,
        'a → b TCP/80': true,
        'b → a UDP/53': false,
      });
      assert.deepEqual(cut, { before: true, after: false });
      assert.deepEqual(phase(1).counts, []);
    });

    test('audited again: the counts start over instead of resuming the old total', () => {
      const a = reaudited?.find((c) => c.pod === 'x/a' && c.direction === 'ingress');
      assert.ok(a !== undefined, 'x/a ingress audited again');
      // The connection cut in phase 2 may still retransmit: its next segment passes (and counts) once.
      assert.ok(a.packets <= 1, `x/a ingress resumed at ${a.packets}`);
    });
  });
}
