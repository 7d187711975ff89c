/**
 * The ops commands on a real node namespace with the eBPF datapath:
 * `sluice inspect` views, `sluice monitor` lines for a denied and an allowed
 * connection, and `sluice cleanup` removing both datapaths while qdiscs,
 * filters, chains and sets the test made itself survive. Every command runs
 * in-process through main() with a captured Io, against a pin root of its
 * own under /sys/fs/bpf/sluice-test-*.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { runMonitor } from '../../src/cli/commands/monitor.js';
import { parseFlags } from '../../src/cli/flags.js';
import { monitorCommand } from '../../src/cli/commands/monitor.js';
import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { readConfig, withPinnedMap } from '../../src/datapath/ebpf/inspect.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { mapUpdate } from '../../src/datapath/ebpf/map-ops.js';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import { cluster, ingress, ipPeer, ns, podPeer, policy, port, rule, sel, selecting } from '../compiler/builders.js';
import { ensureObject } from '../ebpf/btf-dump.js';
import { createNode, isRoot, type NodeNs } from '../support/netns.js';

const CLI = fileURLToPath(new URL('../agent/sluice-cli.ts', import.meta.url));
const skip = isRoot() ? false : 'needs root: network namespaces, bpffs and tc';

function capture(): Io & { text(): string; errors(): string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: {},
    text: () => out,
    errors: () => err,
  };
}

async function sluice(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errors() };
}

const A_IN = policy(
  'x/a-in',
  selecting(sel({ app: 'a' })),
  ingress(
    rule([podPeer(sel({ app: 'b' }))], [port(80), port(5000, 'TCP', 5001)]),
    rule([ipPeer('10.100.200.0/24', '10.100.200.4/32')], [port(81)]),
  ),
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `sluice monitor` in-process while `traffic` runs; returns its output. */
async function monitorDuring(
  pinRoot: string,
  type: string,
  traffic: () => Promise<void>,
  extra: readonly string[] = [],
): Promise<string> {
  const io = capture();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  const { values } = parseFlags(monitorCommand, ['--type', type, '--pin-root', pinRoot, ...extra]);
  const done = runMonitor(values, io, [], { stop: stopped, ready });
  await isReady;
  await traffic();
  await sleep(300);
  stop();
  assert.equal(await done, 0);
  return io.text();
}

describe('ops commands on a routed node (eBPF, clsact)', { skip }, () => {
  const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-ops`;
  let node: NodeNs | undefined;
  let dp: EbpfDatapath | undefined;
  const n = (): NodeNs => {
    assert.ok(node !== undefined);
    return node;
  };

  before(async () => {
    node = await createNode({
      topology: 'routed',
      pods: [
        { id: 'x/a', labels: { app: 'a' } },
        { id: 'x/b', labels: { app: 'b' } },
      ],
    });
    for (const p of [...node.pods.values()]) {
      await Promise.all([80, 81].map((tp) => p.agent.listen('tcp', tp)));
    }
    // Made by the test, not by sluice: must survive cleanup.
    await node.exec('tc', ['qdisc', 'add', 'dev', 'vp1', 'clsact']);
    // A u32 filter that matches no packet (the kernel here has no tc action modules).
    const u32 = ['u32', 'match', 'u32', '0x12345678', '0xffffffff', 'at', '0', 'flowid', '1:1'];
    await node.exec('tc', ['filter', 'add', 'dev', 'vp1', 'ingress', 'pref', '7', 'protocol', 'all', ...u32]);
    await node.exec('iptables', ['-w', '-N', 'KEEP-ME']);
    await node.exec('ipset', ['create', 'keep-me', 'hash:ip']);
    dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject(), useTcx: false, netns: node.name });
    const pods = [...node.pods.values(), node.remote].map((p) => p.pod);
    await dp.apply(compile(cluster([ns('x'), ns('r')], pods, [A_IN]), 'node-a'), node.nodeContext);
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

  test('inspect endpoints: pod names, addresses and isolation per direction', async () => {
    const r = await sluice('inspect', 'endpoints', '--pin-root', pinRoot);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const a = lines.find((l) => l.startsWith('x/a '));
    const b = lines.find((l) => l.startsWith('x/b '));
    assert.match(a ?? '', /10\.100\.0\.10.*isolated \(rule set \d+\)\s+open/);
    assert.match(b ?? '', /10\.100\.0\.11.*open\s+open/);
  });

  test('inspect policy: allow tuples with peer pods, port ranges and the deciding policy', async () => {
    const r = await sluice('inspect', 'policy', 'x/a', '--pin-root', pinRoot);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /from class \d+ \[x\/b\] TCP 80 +\(x\/a-in ingress rule 0\)/);
    assert.match(r.out, /TCP 5000-5001 +\(x\/a-in ingress rule 0\)/);
    assert.match(r.out, /\[10\.100\.200\.0\/24 except 10\.100\.200\.4\/32\] TCP 81 +\(x\/a-in ingress rule 1\)/);
    assert.match(r.out, /egress: not isolated/);
    const json = await sluice('inspect', 'policy', 'x/a', '--pin-root', pinRoot, '--output', 'json');
    const data = JSON.parse(json.out) as { ingress: { allow: { ports: string; policy: string }[] } };
    assert.ok(data.ingress.allow.some((t) => t.ports === '5000-5001' && t.policy === 'x/a-in'));
  });

  test('inspect policy: an unknown pod exits 1', async () => {
    const r = await sluice('inspect', 'policy', 'x/nope', '--pin-root', pinRoot);
    assert.equal(r.code, 1);
  });

  test('inspect peers: CIDR to class with pod names', async () => {
    const r = await sluice('inspect', 'peers', '--pin-root', pinRoot);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /10\.100\.0\.11\/32 +\d+ +x\/b/);
    assert.match(r.out, /10\.100\.200\.0\/24 +\d+/);
  });

  test('monitor --type drop: a denied SYN names both pods and the port; ct and stats see the traffic', async () => {
    const out = await monitorDuring(pinRoot, 'drop', async () => {
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 81, { timeoutMs: 300 }), false);
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 80), true);
    });
    assert.match(out, /DROP x\/b -> x\/a TCP 10\.100\.0\.11:\d+ -> 10\.100\.0\.10:81 ingress-of x\/a: isolated/);
    assert.doesNotMatch(out, /ALLOW/);
    const ct = await sluice('inspect', 'ct', '--pin-root', pinRoot);
    assert.match(ct.out, /ingress +TCP +x\/b 10\.100\.0\.11:\d+ -> x\/a 10\.100\.0\.10:80/);
    const stats = await sluice('inspect', 'stats', '--pin-root', pinRoot, '-o', 'json');
    const rows = JSON.parse(stats.out) as {
      pod: string;
      direction: string;
      allowedPackets: number;
      deniedPackets: number;
    }[];
    const aIn = rows.find((s) => s.pod === 'x/a' && s.direction === 'ingress');
    assert.ok(aIn !== undefined && aIn.deniedPackets > 0 && aIn.allowedPackets > 0, stats.out);
  });

  test('monitor --type all: the allowed connection appears with its policy; the allow flag is restored', async () => {
    const out = await monitorDuring(pinRoot, 'all', async () => {
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 80), true);
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 81, { timeoutMs: 300 }), false);
    });
    assert.match(out, /ALLOW x\/b -> x\/a TCP \S+ -> 10\.100\.0\.10:80 ingress-of x\/a: policy x\/a-in ingress rule 0/);
    assert.match(out, /DROP x\/b -> x\/a TCP \S+ -> 10\.100\.0\.10:81/);
    const quiet = await monitorDuring(pinRoot, 'drop', async () => {
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 80), true);
    });
    assert.equal(quiet, '');
  });

  test('monitor --pod and --output json: only that pod, one JSON object per event', async () => {
    const deny = () => n().pod('x/b').agent.tcp(n().pod('x/a').v4, 81, { timeoutMs: 300 });
    const other = await monitorDuring(pinRoot, 'drop', async () => void (await deny()), ['--pod', 'r/remote']);
    assert.equal(other, '');
    const out = await monitorDuring(pinRoot, 'drop', async () => void (await deny()), ['--pod', 'x/b', '-o', 'json']);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verdict: string; srcPod: string; dstPod: string; dport: number; pod: string });
    assert.ok(events.length > 0);
    for (const e of events)
      assert.deepEqual([e.verdict, e.srcPod, e.dstPod, e.dport, e.pod], ['DROP', 'x/b', 'x/a', 81, 'x/a']);
  });

  test('monitor --type drop turns deny events on while it runs and puts the switch back', async () => {
    const setFlags = (flags: number) =>
      withPinnedMap(pinRoot, L.MAPS.config, (ref) =>
        mapUpdate(ref, Buffer.alloc(4), L.config.encode({ ...readConfig(ref), flags })),
      );
    const flags = () => withPinnedMap(pinRoot, L.MAPS.config, readConfig).flags;
    setFlags(L.CONFIG_FLAGS.eventsNoDeny);
    try {
      const out = await monitorDuring(pinRoot, 'drop', async () => {
        assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 81, { timeoutMs: 300 }), false);
      });
      assert.match(out, /DROP x\/b -> x\/a TCP \S+ -> 10\.100\.0\.10:81/);
      assert.equal(flags(), L.CONFIG_FLAGS.eventsNoDeny);
    } finally {
      setFlags(0);
    }
  });

  test('monitor as a process: SIGINT exits 0 and clears the allow-events flag it set', async () => {
    const allowFlag = () =>
      (withPinnedMap(pinRoot, L.MAPS.config, readConfig).flags & L.CONFIG_FLAGS.eventsAllow) !== 0;
    assert.equal(allowFlag(), false);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'monitor', '--type', 'all', '--pin-root', pinRoot], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 10_000;
      while (!allowFlag() && Date.now() < deadline) await sleep(50);
      assert.equal(allowFlag(), true, 'monitor --type all sets the allow-events flag');
      assert.equal(await n().pod('x/b').agent.tcp(n().pod('x/a').v4, 80), true);
      await sleep(300);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    assert.match(out, /ALLOW x\/b -> x\/a TCP/);
    assert.equal(allowFlag(), false);
  });

  test('cleanup --datapath all removes both datapaths and nothing the test made', async () => {
    const ipt = new IptablesDatapath({ netns: n().name });
    const pods = [...n().pods.values(), n().remote].map((p) => p.pod);
    await ipt.apply(compile(cluster([ns('x'), ns('r')], pods, [A_IN]), 'node-a'), n().nodeContext);
    const listed = await sluice('inspect', '--datapath', 'iptables', '--netns', n().name, '-o', 'json');
    const state = JSON.parse(listed.out) as { sets: { name: string; members: number }[]; chains: { name: string }[] };
    assert.ok(
      state.sets.some((x) => x.name.startsWith('sluice-ingress-iso-v4-') && x.members === 1),
      listed.out,
    );
    assert.ok(state.chains.some((c) => c.name === 'SLUICE-FORWARD'));
    const r = await sluice('cleanup', '--pin-root', pinRoot, '--netns', n().name);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /removed ebpf: tc filters \+ clsact qdisc on vp0/);
    assert.match(r.out, /removed ebpf: tc filters on vp1\n/);
    assert.match(r.out, /removed ebpf: pin .*sluice_policy/);
    assert.match(r.out, /removed iptables: v4 chain SLUICE-FORWARD/);
    assert.match(r.out, /removed iptables: ipset sluice-/);
    assert.equal(existsSync(pinRoot), false);
    assert.equal((await n().exec('tc', ['qdisc', 'show', 'dev', 'vp0'])).includes('clsact'), false);
    assert.match(await n().exec('tc', ['qdisc', 'show', 'dev', 'vp1']), /clsact/);
    const vp1 = await n().exec('tc', ['filter', 'show', 'dev', 'vp1', 'ingress']);
    assert.match(vp1, /u32/);
    assert.doesNotMatch(vp1, /bpf/);
    assert.equal((await n().exec('tc', ['filter', 'show', 'dev', 'vp1', 'egress'])).trim(), '');
    const rules = await n().exec('iptables-save', ['-t', 'filter']);
    assert.doesNotMatch(rules, /SLUICE/);
    assert.match(rules, /:KEEP-ME/);
    const sets = await n().exec('ipset', ['list', '-n']);
    assert.doesNotMatch(sets, /sluice-/);
    assert.match(sets, /keep-me/);
    const again = await sluice('cleanup', '--pin-root', pinRoot, '--netns', n().name);
    assert.deepEqual(again, { code: 0, out: 'nothing to remove\n', err: '' });
  });

  test('inspect with nothing pinned exits 1 naming the pin path', async () => {
    const r = await sluice('inspect', 'endpoints', '--pin-root', pinRoot);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`nothing pinned at ${pinRoot}/sluice_names`));
  });
});

describe('cleanup after tcx attachment', { skip }, () => {
  const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-ops-tcx`;
  let node: NodeNs | undefined;

  after(async () => {
    rmSync(pinRoot, { recursive: true, force: true });
    await node?.destroy();
  });

  test('cleanup --datapath ebpf detaches the links and removes the pins; enforcement is gone', async () => {
    node = await createNode({ topology: 'routed', pods: [{ id: 'x/a', labels: { app: 'a' } }, { id: 'x/b' }] });
    await node.pod('x/a').agent.listen('tcp', 80);
    const dp = new EbpfDatapath({ pinRoot, objectPath: ensureObject(), useTcx: true, netns: node.name });
    const pods = [...node.pods.values(), node.remote].map((p) => p.pod);
    const denyAll = policy('x/deny', selecting(sel({ app: 'a' })), ingress());
    await dp.apply(compile(cluster([ns('x'), ns('r')], pods, [denyAll]), 'node-a'), node.nodeContext);
    await dp.close();
    const b = node.pod('x/b').agent;
    assert.equal(await b.tcp(node.pod('x/a').v4, 80, { timeoutMs: 300 }), false);
    const r = await sluice('cleanup', '--datapath', 'ebpf', '--pin-root', pinRoot, '--netns', node.name);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /removed ebpf: tcx links on vp0/);
    assert.match(r.out, /removed ebpf: pin .*links\/vp0-ingress/);
    assert.doesNotMatch(r.out, /iptables/);
    assert.equal(existsSync(pinRoot), false);
    assert.equal(await b.tcp(node.pod('x/a').v4, 80), true);
  });
});
