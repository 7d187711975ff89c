/**
 * Soak under policy churn (issue 3): the eBPF datapath in the harness
 * (routed topology) enforces x/a's ingress (only app=b on TCP/80) and x/b's
 * egress (only app=a on TCP/80) while a new model is applied every ~100 ms
 * that adds and removes unrelated policies (namespace y, ipBlock peers,
 * ports) and unrelated pods (local endpoints without interfaces, remote
 * pods). Meanwhile:
 *   - one TCP connection b → a:80 stays open and echoes every ~50 ms;
 *   - a new short connection b → a:80 every ~100 ms;
 *   - denied probes every ~100 ms: c → a:80 (a's ingress) and b → c:80
 *     (b's egress).
 * Every apply bumps the policy generation, so established flows are
 * re-judged each time. Want: zero allowed failures, zero denied successes.
 * SLUICE_SOAK_SECONDS sets the duration (default 30), SLUICE_SOAK_TOPOLOGY
 * the harness topology (routed, the default, or bridge).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import type { NetworkPolicy, Pod } from '../../src/model/k8s.js';
import {
  cluster,
  egress,
  ingress,
  ipPeer,
  ns,
  nsPeer,
  onNode,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';
import { createNode, isRoot, type NodeNs, type Topology } from '../support/netns.js';
import { ensureObject } from './btf-dump.js';

const skip = isRoot() ? false : 'needs root: network namespaces, tc and /sys/fs/bpf';
const SECONDS = Number(process.env['SLUICE_SOAK_SECONDS'] ?? 30);
const TOPOLOGY: Topology = process.env['SLUICE_SOAK_TOPOLOGY'] === 'bridge' ? 'bridge' : 'routed';

const only = (app: string) => selecting(sel({ app }));
const A_IN = policy('x/a-in', only('a'), ingress(rule([podPeer(sel({ app: 'b' }))], [port(80)])));
const B_OUT = policy('x/b-out', only('b'), egress(rule([podPeer(sel({ app: 'a' }))], [port(80)])));

/** Unrelated churn for step `i`: policies and pods that come and go, none touching a, b or c. */
function churn(i: number): { policies: NetworkPolicy[]; pods: Pod[] } {
  const policies: NetworkPolicy[] = [];
  const pods: Pod[] = [];
  for (let k = 0; k < 6; k++) {
    if (((i >> k) & 1) === 0) continue;
    const net = `10.${150 + k}.${i % 200}.0/24`;
    policies.push(
      policy(
        `y/churn-${k}`,
        only(`z${k}`),
        ingress(rule([ipPeer(net)], [port(1000 + k, 'TCP', 1000 + k + (i % 50))])),
        egress(rule([nsPeer(sel({ team: 'y' }), sel({ app: `z${(k + 1) % 6}` }))], [port(53, 'UDP')])),
      ),
    );
    pods.push(pod(`y/local-${k}`, [`10.100.50.${10 + k}`], { app: `z${k}` }));
    pods.push(pod(`y/remote-${k}-${i % 7}`, [`10.160.${k}.${i % 250}`], { app: `z${k}` }, onNode('node-b')));
  }
  return { policies, pods };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let node: NodeNs | undefined;
let dp: EbpfDatapath | undefined;
const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-soak`;

function apply(n: NodeNs, d: EbpfDatapath, i: number) {
  const c = churn(i);
  const pods = [...n.pods.values(), n.remote].map((p) => p.pod);
  const snapshot = cluster(
    [ns('x'), ns('y', { team: 'y' }), ns('r')],
    [...pods, ...c.pods],
    [A_IN, B_OUT, ...c.policies],
  );
  return d.apply(compile(snapshot, 'node-a'), n.nodeContext);
}

before(async () => {
  if (skip !== false) return;
  node = await createNode({
    topology: TOPOLOGY,
    pods: [
      { id: 'x/a', labels: { app: 'a' } },
      { id: 'x/b', labels: { app: 'b' } },
      { id: 'x/c', labels: { app: 'c' } },
    ],
  });
  for (const p of node.pods.values()) await p.agent.listen('tcp', 80);
  dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject(), netns: node.name });
  await apply(node, dp, 0);
});

after(async () => {
  try {
    await dp?.cleanup();
    await dp?.close();
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
    await node?.destroy();
  }
});

interface Tally {
  ok: number;
  failed: string[];
}

/** Runs `step` every `everyMs` until `until`; a step's wrong outcome is recorded with its time. */
async function loop(until: number, everyMs: number, tally: Tally, step: () => Promise<boolean>, what: string) {
  const start = Date.now();
  while (Date.now() < until) {
    const t0 = Date.now();
    if (await step()) tally.ok++;
    else tally.failed.push(`${what} at ${((t0 - start) / 1000).toFixed(2)}s`);
    await sleep(Math.max(0, everyMs - (Date.now() - t0)));
  }
}

test(
  `soak (${TOPOLOGY}): ${SECONDS}s of unrelated policy churn, allowed traffic never drops, denied never passes`,
  { skip },
  async (t) => {
    assert.ok(node !== undefined && dp !== undefined);
    const n = node;
    const d = dp;
    const [a, b, c] = [n.pod('x/a'), n.pod('x/b'), n.pod('x/c')];
    const handle = await b.agent.open(a.v4, 80, 1000);
    assert.ok(handle !== undefined, 'the long-lived connection b → a:80 opens');
    const until = Date.now() + SECONDS * 1000;
    const allowed: Tally = { ok: 0, failed: [] };
    const denied: Tally = { ok: 0, failed: [] };
    let applies = 0;
    const churnLoop = (async () => {
      while (Date.now() < until) {
        const t0 = Date.now();
        await apply(n, d, ++applies);
        await sleep(Math.max(0, 100 - (Date.now() - t0)));
      }
    })();
    await Promise.all([
      churnLoop,
      loop(until, 50, allowed, () => b.agent.send(handle, 1000), 'established b → a:80 echo'),
      loop(until, 100, allowed, () => b.agent.tcp(a.v4, 80, { timeoutMs: 1000 }), 'new b → a:80'),
      loop(until, 100, denied, async () => !(await c.agent.tcp(a.v4, 80, { timeoutMs: 200 })), 'c → a:80 (ingress)'),
      loop(until, 100, denied, async () => !(await b.agent.tcp(c.v4, 80, { timeoutMs: 200 })), 'b → c:80 (egress)'),
    ]);
    t.diagnostic(`applies ${applies}, allowed ok ${allowed.ok}, denied ok ${denied.ok}`);
    assert.deepEqual(allowed.failed, [], 'allowed traffic failed');
    assert.deepEqual(denied.failed, [], 'denied traffic passed');
    assert.ok(applies >= SECONDS * 3, `only ${applies} applies in ${SECONDS}s`);
    assert.ok(allowed.ok >= SECONDS * 10, `only ${allowed.ok} allowed exchanges`);
  },
);
