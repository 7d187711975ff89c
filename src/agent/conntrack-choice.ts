/**
 * Which flow-state build of the eBPF programs the agent loads (--conntrack):
 * `kernel` (sluice-kct.bpf.o, TCP and UDP flows in nf_conntrack) or `table`
 * (sluice.bpf.o, sluice's own LRU table). `auto` takes the kernel's where
 * its conntrack kfuncs exist, and says why either way.
 */
import type { KctCheck } from '../datapath/probe-kct.js';

export type ConntrackChoice = 'auto' | 'table' | 'kernel';

export interface ConntrackDecision {
  readonly conntrack: 'table' | 'kernel';
  readonly reason: string;
}

export function chooseConntrack(choice: ConntrackChoice, check: () => KctCheck): ConntrackDecision {
  if (choice !== 'auto') return { conntrack: choice, reason: `--conntrack ${choice}` };
  const kfuncs = check();
  return kfuncs.ok
    ? { conntrack: 'kernel', reason: `auto: the conntrack kfuncs are there (${kfuncs.reason})` }
    : { conntrack: 'table', reason: `auto: sluice's own table, no conntrack kfuncs (${kfuncs.reason})` };
}
