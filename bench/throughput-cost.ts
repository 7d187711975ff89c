/**
 * What sluice's programs cost per connection in real traffic, beside the
 * requests/s ratio: during an extra ab run with the eBPF datapath on, the
 * kernel's BPF run-time statistics (kernel.bpf_stats_enabled, which adds
 * its own clock reads to every run, so these ns are an upper bound) give
 * runs and ns per connection for each program; the same ab run without
 * enforcement gives the node's whole CPU time per connection (/proc/stat),
 * which the programs' ns are a share of.
 */
import { readFileSync } from 'node:fs';

import { run } from '../test/support/netns.js';
import { abRps, type BenchNet } from './throughput-net.js';

export const PROGRAMS = ['sluice_from_pod', 'sluice_to_pod', 'sluice_to_remote'] as const;

export interface ProgramCost {
  readonly name: (typeof PROGRAMS)[number];
  readonly runsPerConnection: number;
  readonly nsPerRun: number;
}

export interface ConnectionCost {
  readonly pods: number;
  readonly rep: number;
  readonly programs: readonly ProgramCost[];
  /** Sum over the programs of runs × ns per run, per connection. */
  readonly programNsPerConnection: number;
}

/** Busy and total CPU time of the machine so far, in clock ticks (/proc/stat, USER_HZ 100). */
function cpuTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user, nice, system, irq, softirq: not idle, iowait or steal (time the hypervisor gave elsewhere).
  const at = (i: number): number => fields[i] ?? 0;
  return { busy: at(0) + at(1) + at(2) + at(5) + at(6), total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** ab requests/s and the machine's busy CPU microseconds per request over the same run. */
export async function abWithCpu(net: BenchNet, concurrency: number, seconds: number) {
  const before = cpuTicks();
  const rps = await abRps(net, concurrency, seconds);
  const after = cpuTicks();
  const busySeconds = (after.busy - before.busy) / 100;
  // Over ab's own run time (-t): starting ab in the namespace adds a little busy time, none of the requests.
  return { rps, cpuUsPerRequest: (busySeconds * 1e6) / (rps * seconds) };
}

type Counters = Map<string, { runs: number; ns: number }>;

async function programCounters(pinRoot: string): Promise<Counters> {
  const out: Counters = new Map();
  for (const name of PROGRAMS) {
    const text = await run('bpftool', ['-j', 'prog', 'show', 'pinned', `${pinRoot}/progs/${name}`]);
    const p = JSON.parse(text) as { run_cnt?: number; run_time_ns?: number };
    out.set(name, { runs: p.run_cnt ?? 0, ns: p.run_time_ns ?? 0 });
  }
  return out;
}

/** Runs ab for `seconds` with BPF statistics on and returns the programs' cost per connection. */
export async function connectionCost(
  net: BenchNet,
  pinRoot: string,
  at: { pods: number; rep: number; concurrency: number; seconds: number },
): Promise<ConnectionCost> {
  const previous = (await run('sysctl', ['-n', 'kernel.bpf_stats_enabled'])).trim();
  await run('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=1']);
  try {
    const before = await programCounters(pinRoot);
    const connections = (await abRps(net, at.concurrency, at.seconds)) * at.seconds;
    const after = await programCounters(pinRoot);
    const programs = PROGRAMS.map((name): ProgramCost => {
      const a = after.get(name) ?? { runs: 0, ns: 0 };
      const b = before.get(name) ?? { runs: 0, ns: 0 };
      const runs = a.runs - b.runs;
      return { name, runsPerConnection: runs / connections, nsPerRun: runs > 0 ? (a.ns - b.ns) / runs : 0 };
    });
    const programNsPerConnection = programs.reduce((s, p) => s + p.runsPerConnection * p.nsPerRun, 0);
    return { pods: at.pods, rep: at.rep, programs, programNsPerConnection };
  } finally {
    await run('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${previous === '' ? '0' : previous}`]);
  }
}
