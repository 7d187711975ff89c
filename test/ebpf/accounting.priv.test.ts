/** Counters (sluice_stats), the event token bucket, and libbpf error reporting. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BpfError } from '../../src/util/errors.js';
import { DIRECTION, MAPS, REASON, event, eventLimit, statsIndex, statsValue } from '../../src/datapath/ebpf/layout.js';
import { wouldDenyValue } from '../../src/datapath/ebpf/layout.js';
import { mapLookupPerCpu, mapUpdate } from '../../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../../src/datapath/ebpf/object.js';
import { RingBufferReader } from '../../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../../src/datapath/ebpf/test-run.js';
import { Fixture, u32 } from './fixture.js';
import { PROTO, packet } from './packets.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: BPF_PROG_TEST_RUN and pinning in /sys/fs/bpf';

const A = '10.0.1.1';
const tcp = (dport: number) => packet({ src: '192.168.1.1', dst: A, proto: PROTO.tcp, sport: 40000, dport });

function sumStats(fx: Fixture, endpointId: number, direction: number) {
  const key = u32(statsIndex(endpointId, direction));
  const perCpu = mapLookupPerCpu(fx.map(MAPS.stats), key, statsValue.size) ?? [];
  const total = { allowedPackets: 0n, allowedBytes: 0n, deniedPackets: 0n, deniedBytes: 0n };
  for (const raw of perCpu) {
    const v = statsValue.decode(raw);
    total.allowedPackets += v.allowedPackets;
    total.allowedBytes += v.allowedBytes;
    total.deniedPackets += v.deniedPackets;
    total.deniedBytes += v.deniedBytes;
  }
  return total;
}

test('stats count packets and bytes per endpoint and direction', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  fx.fill({
    endpoints: [{ ip: A, id: 42, isolated: ['ingress'], ingress: 10 }],
    tuples: [{ ruleset: 10, peerClass: 0, dir: 'ingress', proto: PROTO.tcp, ports: [80, 80] }],
  });
  progTestRun(fx.toPod, tcp(80));
  progTestRun(fx.toPod, tcp(80));
  progTestRun(fx.toPod, tcp(81));
  const len = BigInt(tcp(80).length);
  assert.deepEqual(sumStats(fx, 42, DIRECTION.ingress), {
    allowedPackets: 2n,
    allowedBytes: 2n * len,
    deniedPackets: 1n,
    deniedBytes: len,
  });
  assert.equal(sumStats(fx, 42, DIRECTION.egress).allowedPackets, 0n);
});

test('deny events are rate limited per CPU', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  fx.fill({ endpoints: [{ ip: A, id: 1, isolated: ['ingress'], ingress: 10 }] });
  fx.setConfig({ flags: 0, policyGen: 0, eventsPerSec: 1, eventsBurst: 2 });
  let seen = 0;
  const reader = new RingBufferReader(fx.map(MAPS.events).fd, (data) => {
    assert.equal(event.decode(data).endpointId, 1);
    seen++;
  });
  t.after(() => reader.close());
  // One test run with repeat: all on one CPU, well within a second.
  progTestRun(fx.toPod, tcp(22), { repeat: 5 });
  reader.consume();
  assert.equal(seen, 2);
  const limits = mapLookupPerCpu(fx.map(MAPS.eventLimit), u32(0), eventLimit.size) ?? [];
  const suppressed = limits.map((b) => eventLimit.decode(b).suppressed).reduce((a, b) => a + b, 0n);
  assert.equal(suppressed, 3n);
});

test('would-deny events share the deny token bucket; the would-deny counter is exact', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  fx.fill({ endpoints: [{ ip: A, id: 1, isolated: ['ingress'], audit: ['ingress'], ingress: 10 }] });
  fx.setConfig({ flags: 0, policyGen: 0, eventsPerSec: 1, eventsBurst: 2 });
  let seen = 0;
  const reader = new RingBufferReader(fx.map(MAPS.events).fd, (data) => {
    assert.equal(event.decode(data).reason, REASON.wouldDeny);
    seen++;
  });
  t.after(() => reader.close());
  const flows = 10;
  // Distinct flows (source ports): each is a new flow, judged, would-deny; runs may land on any CPU.
  for (let i = 0; i < flows; i++) {
    const pkt = packet({ src: '192.168.1.1', dst: A, proto: PROTO.tcp, sport: 41000 + i, dport: 22 });
    assert.equal(progTestRun(fx.toPod, pkt).retval, 0, 'TC_ACT_OK: a would-deny passes');
  }
  reader.consume();
  const limits = mapLookupPerCpu(fx.map(MAPS.eventLimit), u32(0), eventLimit.size) ?? [];
  const suppressed = Number(limits.map((b) => eventLimit.decode(b).suppressed).reduce((a, b) => a + b, 0n));
  assert.equal(seen + suppressed, flows);
  assert.ok(seen <= 2 * limits.length, `${seen} events past a burst of 2 per CPU`);
  const counted = (
    mapLookupPerCpu(fx.map(MAPS.wouldDeny), u32(statsIndex(1, DIRECTION.ingress)), wouldDenyValue.size) ?? []
  )
    .map((b) => wouldDenyValue.decode(b).packets)
    .reduce((a, b) => a + b, 0n);
  assert.equal(counted, BigInt(flows));
});

const errorCases: { name: string; run: (fx: Fixture) => void; code: string; match: RegExp }[] = [
  {
    name: 'missing object file names the file and ENOENT',
    run: () => BpfObject.open('/nonexistent/sluice.bpf.o', { pinRoot: '/sys/fs/bpf' }),
    code: 'SLUICE_BPF_LOAD',
    match: /open BPF object \(\/nonexistent\/sluice\.bpf\.o\): ENOENT/,
  },
  {
    name: 'unknown map names the map',
    run: (fx) => fx.obj.mapFd('sluice_nope'),
    code: 'SLUICE_BPF',
    match: /find map \(sluice_nope/,
  },
  {
    name: 'update with a bad flag names the map and EINVAL',
    run: (fx) => mapUpdate(fx.map(MAPS.config), u32(0), Buffer.alloc(16), 7 as 0),
    code: 'SLUICE_BPF_MAP_UPDATE',
    match: /map update \(sluice_config\): EINVAL/,
  },
  {
    name: 'array index out of range is E2BIG',
    run: (fx) => mapUpdate(fx.map(MAPS.config), u32(1), Buffer.alloc(16)),
    code: 'SLUICE_BPF_MAP_UPDATE',
    match: /E2BIG/,
  },
];

for (const c of errorCases) {
  test(c.name, { skip }, (t) => {
    const fx = new Fixture();
    t.after(() => fx.dispose());
    assert.throws(
      () => c.run(fx),
      (err: unknown) => err instanceof BpfError && err.code === c.code && c.match.test(err.message),
    );
  });
}
