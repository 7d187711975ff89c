/**
 * The capability probe: what each datapath needs, checked one by one on this
 * kernel, and the backend `auto` picks from the results.
 *
 *   probe-ebpf.ts      bpf(), bpffs, BTF, map types, object load, tc, tcx, PROG_TEST_RUN
 *   probe-iptables.ts  iptables (+ backend), ip6tables, ipset + set types, conntrack match
 *   probe-netns.ts     the throwaway network namespace both run their kernel checks in
 *
 * Every check leaves nothing behind: maps are closed, the temporary pin root
 * is removed, interfaces, qdiscs, chains and sets live in a network namespace
 * that disappears when the probe ends. The choice itself (`chooseDatapath`)
 * is a pure function of the results.
 */
import type { ProbeNetns } from './probe-netns.js';
import type { DatapathKind } from './types.js';

/**
 * How a datapath depends on a check: it cannot run without a `required`
 * one; an `optional` one only changes how it runs (tcx instead of clsact,
 * fewer set elements); of the checks sharing `any:<name>`, one must pass.
 */
export type Need = 'required' | 'optional' | `any:${string}`;

export interface ProbeCheck {
  readonly name: string;
  readonly datapath: DatapathKind;
  readonly ok: boolean;
  /** Why it passed (what was found) or failed (errno name and text, or the tool's message). */
  readonly reason: string;
  readonly need: Need;
}

export interface DatapathChoice {
  /** What `auto` would run; undefined when no datapath can run. */
  readonly datapath: DatapathKind | undefined;
  readonly reason: string;
}

export interface ProbeReport {
  readonly checks: readonly ProbeCheck[];
  readonly choice: DatapathChoice;
}

export interface ProbeOptions {
  /** Which datapaths to probe; default both. */
  readonly datapaths?: readonly DatapathKind[];
  /** The compiled BPF object to load (it is loaded under a temporary pin root). */
  readonly objectPath?: string;
  /** Where bpffs should be mounted; default /sys/fs/bpf. */
  readonly bpffs?: string;
}

/** The checks of `kind` that keep it from running; empty when it can run. */
export function blockers(checks: readonly ProbeCheck[], kind: DatapathKind): ProbeCheck[] {
  const own = checks.filter((c) => c.datapath === kind);
  const failed = own.filter((c) => !c.ok && c.need === 'required');
  const groups = new Set(own.map((c) => c.need).filter((n) => n.startsWith('any:')));
  for (const g of [...groups].sort()) {
    const members = own.filter((c) => c.need === g);
    if (!members.some((c) => c.ok)) failed.push(...members);
  }
  return own.length === 0 ? [notProbed(kind)] : failed;
}

function notProbed(kind: DatapathKind): ProbeCheck {
  return { name: kind, datapath: kind, ok: false, reason: 'not probed', need: 'required' };
}

/** `a, b: reason` per distinct reason, in order: the text an operator reads. */
export function describeFailures(failed: readonly ProbeCheck[]): string {
  const byReason = new Map<string, string[]>();
  for (const c of failed) byReason.set(c.reason, [...(byReason.get(c.reason) ?? []), c.name]);
  return [...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`).join('; ');
}

/** ebpf when all its checks pass, else iptables when all of its do, else nothing. Pure. */
export function chooseDatapath(checks: readonly ProbeCheck[]): DatapathChoice {
  const ebpf = blockers(checks, 'ebpf');
  if (ebpf.length === 0) return { datapath: 'ebpf', reason: 'every eBPF check passed' };
  const iptables = blockers(checks, 'iptables');
  if (iptables.length === 0) {
    return { datapath: 'iptables', reason: `eBPF cannot run: ${describeFailures(ebpf)}` };
  }
  return {
    datapath: undefined,
    reason: `eBPF cannot run: ${describeFailures(ebpf)}. iptables cannot run: ${describeFailures(iptables)}`,
  };
}

/** Runs the checks of the asked datapaths and picks one. */
export async function runProbe(options: ProbeOptions = {}): Promise<ProbeReport> {
  const kinds = options.datapaths ?? (['ebpf', 'iptables'] as const);
  const { withProbeNetns } = await import('./probe-netns.js');
  // The two groups touch different kernel objects, so they run side by side (in report order).
  const checks = await withProbeNetns(async (netns) => {
    const iptables = async (): Promise<ProbeCheck[]> => (await import('./probe-iptables.js')).iptablesChecks(netns);
    const groups = await Promise.all([
      kinds.includes('ebpf') ? loadEbpfChecks(netns, options) : [],
      kinds.includes('iptables') ? iptables() : [],
    ]);
    return groups.flat();
  });
  return { checks, choice: chooseDatapath(checks) };
}

/** The eBPF checks; when libbpf itself cannot be loaded, one failed check that says why. */
async function loadEbpfChecks(netns: ProbeNetns, options: ProbeOptions): Promise<ProbeCheck[]> {
  let mod: typeof import('./probe-ebpf.js');
  try {
    mod = await import('./probe-ebpf.js');
  } catch (err) {
    const reason = `libbpf.so.1 not loadable: ${err instanceof Error ? err.message : String(err)}`;
    return [{ name: 'libbpf', datapath: 'ebpf', ok: false, reason, need: 'required' }];
  }
  return mod.ebpfChecks(netns, options);
}
