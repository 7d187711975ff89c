/**
 * The measuring half of bench/bpf-packet.ts: loads one tc object over its
 * own pinned maps, fills them for a pod count, checks that every case takes
 * the path it is named after, then times each case with BPF_PROG_TEST_RUN.
 */
import { mkdirSync, rmSync } from 'node:fs';

import * as L from '../src/datapath/ebpf/layout.js';
import { mapUpdate, type MapRef } from '../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../src/datapath/ebpf/object.js';
import { RingBufferReader } from '../src/datapath/ebpf/ringbuf.js';
import { progTestRun } from '../src/datapath/ebpf/test-run.js';
import { packet } from '../test/ebpf/packets.js';
import { fillMaps } from './bpf-packet-fill.js';
import { measureFresh, type FreshObjects, type FreshResult } from './bpf-packet-fresh.js';
import { casesFor, ENDPOINTS_DEFAULT_MAX, type PolicyRow } from './bpf-packet-scenario.js';

export interface RunOptions {
  readonly repeat: number;
  readonly samples: number;
  readonly warmup: number;
}

export interface Sample {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function measure(progFd: number, pkt: Buffer, want: number, what: string, o: RunOptions): Sample {
  const check = (retval: number): void => {
    if (retval !== want) throw new Error(`${what}: program returned ${retval}, expected ${want}`);
  };
  check(progTestRun(progFd, pkt, { repeat: o.warmup }).retval);
  const xs: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const r = progTestRun(progFd, pkt, { repeat: o.repeat });
    check(r.retval);
    xs.push(r.durationNs);
  }
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)] ?? 0, min: xs[0] ?? 0, max: xs[xs.length - 1] ?? 0 };
}

/** A little-endian u32, as map keys and values of 4 bytes are. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Opens and loads an object whose maps are pinned (and shared) under pinRoot. */
export function loadObject(path: string, pinRoot: string, setup: (o: BpfObject) => void = () => {}): BpfObject {
  const obj = BpfObject.open(path, { pinRoot });
  try {
    setup(obj);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

export interface ScaleInfo {
  readonly pods: number;
  readonly endpoints: number;
  readonly endpointsMax: number;
  readonly peers: number;
  readonly policy: number;
}

export interface ScaleResult {
  readonly info: ScaleInfo;
  /** By case name. */
  readonly ns: ReadonlyMap<string, Sample>;
  /** A new tuple on every run (bench/bpf-packet-fresh.ts), when asked for. */
  readonly fresh?: FreshResult;
}

interface Loaded {
  readonly sluice: BpfObject;
  readonly map: (spec: L.MapSpec) => MapRef;
}

function loadSized(objPath: string, dir: string, endpointsMax: number, objs: BpfObject[]): Loaded {
  const sluice = loadObject(objPath, dir, (o) => {
    if (endpointsMax !== ENDPOINTS_DEFAULT_MAX) o.setMaxEntries(L.MAPS.endpoints.name, endpointsMax);
  });
  objs.push(sluice);
  return { sluice, map: (spec) => ({ fd: sluice.mapFd(spec.name), name: spec.name }) };
}

/**
 * One run per case with allow events on: a new flow emits one event, a ct
 * hit none; a rejudged case must judge again on its second run.
 */
function checkPaths(l: Loaded, reader: RingBufferReader, events: number[], pods: number): void {
  for (const c of casesFor(pods)) {
    reader.consume();
    events.length = 0;
    const runs = c.variant === 'rejudged' ? 2 : 1;
    for (let i = 0; i < runs; i++) {
      const r = progTestRun(l.sluice.programFd(c.prog), packet(c.pkt));
      if (r.retval !== c.want) throw new Error(`${c.name}: returned ${r.retval}, expected ${c.want}`);
    }
    reader.consume();
    const want = c.event === null || c.event === undefined ? [] : Array<number>(runs).fill(L.REASON[c.event]);
    if (events.join() !== want.join()) {
      throw new Error(`${c.name} (${pods} pods): event reasons [${events.join()}], expected [${want.join()}]`);
    }
  }
}

export function runScale(
  objPath: string,
  dir: string,
  pods: number,
  policy: readonly PolicyRow[],
  o: RunOptions,
  freshObjects?: FreshObjects,
): ScaleResult {
  mkdirSync(dir);
  const endpointsMax = Math.max(ENDPOINTS_DEFAULT_MAX, 2 ** Math.ceil(Math.log2(pods + 1)));
  const objs: BpfObject[] = [];
  let reader: RingBufferReader | undefined;
  try {
    const l = loadSized(objPath, dir, endpointsMax, objs);
    const counted = fillMaps(l.map, pods, policy);
    const setConfig = (flags: number): void =>
      mapUpdate(
        l.map(L.MAPS.config),
        u32(0),
        L.config.encode({ flags, policyGen: 0, eventsPerSec: 0, eventsBurst: 0 }),
      );
    const events: number[] = [];
    reader = new RingBufferReader(l.map(L.MAPS.events).fd, (data) => events.push(L.event.decode(data).reason));
    for (const c of casesFor(pods)) if (c.prime) progTestRun(l.sluice.programFd(c.prime.prog), packet(c.prime.pkt));
    setConfig(L.CONFIG_FLAGS.eventsAllow);
    checkPaths(l, reader, events, pods);
    setConfig(0);
    const ns = new Map<string, Sample>();
    for (const c of casesFor(pods)) {
      const prog = l.sluice.programFd(c.prog);
      ns.set(c.name, measure(prog, packet(c.pkt), c.want, c.name, o));
      reader.consume();
    }
    const toPod = l.sluice.programFd('sluice_to_pod');
    const fresh = freshObjects === undefined ? undefined : measureFresh(freshObjects, toPod, `${dir}-fresh`, o);
    return { info: { ...counted, endpointsMax }, ns, ...(fresh === undefined ? {} : { fresh }) };
  } finally {
    reader?.close();
    for (const obj of objs) obj.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
