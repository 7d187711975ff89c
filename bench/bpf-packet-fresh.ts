/**
 * A truly new flow on every run: build/bpf/fresh.bpf.o rewrites the packet's
 * source port and the low half of its source address from a counter, then
 * tail-calls the program under test. Timed three times with the same
 * wrapper: into sluice_to_pod (maps filled by the caller), into the empty
 * program, and into build/bpf/ct-floor.bpf.o, which does nothing but one
 * lookup and one insert into an LRU table like sluice_ct4. sluice minus
 * empty is sluice's cost for a flow it has never seen (a ct miss, the
 * judgement and the ct insert, which after 65,536 runs evicts from a full
 * LRU table, as on a busy node); floor minus empty is the share of it that
 * the kernel's table takes from any enforcer that keeps one.
 */
import { mkdirSync, rmSync } from 'node:fs';

import { mapUpdate } from '../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../src/datapath/ebpf/object.js';
import { packet } from '../test/ebpf/packets.js';
import { measure, u32, type RunOptions, type Sample } from './bpf-packet-run.js';
import { FRESH_CASE, TC_ACT_OK } from './bpf-packet-scenario.js';

export interface FreshResult {
  readonly sluice: Sample;
  /** One ct lookup and LRU insert alone (bpf/bench/ct-floor.bpf.c). */
  readonly floor: Sample;
  readonly empty: Sample;
}

/** The wrapper and the programs it is timed into. */
export interface FreshObjects {
  readonly wrapper: string;
  readonly empty: string;
  readonly floor: string;
}

/** Runs the wrapper into `targetFd`, then into the ct floor and the empty program. */
export function measureFresh(paths: FreshObjects, targetFd: number, dir: string, o: RunOptions): FreshResult {
  mkdirSync(dir);
  const objs: BpfObject[] = [];
  try {
    const open = (path: string): BpfObject => {
      const obj = BpfObject.open(path, { pinRoot: dir });
      objs.push(obj);
      obj.load();
      return obj;
    };
    const fresh = open(paths.wrapper);
    const empty = open(paths.empty);
    const floor = open(paths.floor);
    const target = { fd: fresh.mapFd('sluice_bench_target'), name: 'sluice_bench_target' };
    const wrapper = fresh.programFd('sluice_bench_fresh');
    const pkt = packet(FRESH_CASE.pkt);
    mapUpdate(target, u32(0), u32(targetFd));
    const sluice = measure(wrapper, pkt, TC_ACT_OK, FRESH_CASE.name, o);
    mapUpdate(target, u32(0), u32(floor.programFd('sluice_bench_ct_floor')));
    const ctFloor = measure(wrapper, pkt, TC_ACT_OK, 'fresh wrapper, ct lookup and insert alone', o);
    mapUpdate(target, u32(0), u32(empty.programFd('sluice_bench_empty')));
    return { sluice, floor: ctFloor, empty: measure(wrapper, pkt, TC_ACT_OK, 'fresh wrapper, empty program', o) };
  } finally {
    for (const obj of objs) obj.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
