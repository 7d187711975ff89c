/**
 * A truly new flow on every run: build/bpf/fresh.bpf.o rewrites the packet's
 * source port and the low half of its source address from a counter, then
 * tail-calls the program under test. Timed twice with the same wrapper,
 * once into sluice_to_pod (maps filled by the caller) and once into the empty
 * program, so the difference is sluice's cost for a flow it has never seen:
 * a ct miss, the judgement and the ct insert, which after 65,536 runs
 * evicts from a full LRU table, as on a busy node.
 */
import { mkdirSync, rmSync } from 'node:fs';

import { mapUpdate } from '../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../src/datapath/ebpf/object.js';
import { packet } from '../test/ebpf/packets.js';
import { measure, u32, type RunOptions, type Sample } from './bpf-packet-run.js';
import { FRESH_CASE, TC_ACT_OK } from './bpf-packet-scenario.js';

export interface FreshResult {
  readonly sluice: Sample;
  readonly empty: Sample;
}

/** Runs the wrapper into `targetFd`, then into the empty program of `emptyPath`. */
export function measureFresh(
  freshPath: string,
  emptyPath: string,
  targetFd: number,
  dir: string,
  o: RunOptions,
): FreshResult {
  mkdirSync(dir);
  const objs: BpfObject[] = [];
  try {
    const open = (path: string): BpfObject => {
      const obj = BpfObject.open(path, { pinRoot: dir });
      objs.push(obj);
      obj.load();
      return obj;
    };
    const fresh = open(freshPath);
    const empty = open(emptyPath);
    const target = { fd: fresh.mapFd('sluice_bench_target'), name: 'sluice_bench_target' };
    const wrapper = fresh.programFd('sluice_bench_fresh');
    const pkt = packet(FRESH_CASE.pkt);
    mapUpdate(target, u32(0), u32(targetFd));
    const sluice = measure(wrapper, pkt, TC_ACT_OK, FRESH_CASE.name, o);
    mapUpdate(target, u32(0), u32(empty.programFd('sluice_bench_empty')));
    return { sluice, empty: measure(wrapper, pkt, TC_ACT_OK, 'fresh wrapper, empty program', o) };
  } finally {
    for (const obj of objs) obj.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
