/**
 * What the iptables datapath holds in the kernel, read-only: sluice's ipsets
 * with their member counts, its SLUICE-* chains with their rule counts, and
 * the jumps into them. Used by `sluice inspect --datapath iptables` and to
 * report what `sluice cleanup` removed.
 */
import { CommandRunner, tools, type IptablesVariant } from './exec.js';
import { CHAIN_PREFIX, FAMILIES, SET_PREFIX, type Family } from './names.js';

export interface SetInfo {
  readonly name: string;
  readonly type: string;
  readonly members: number;
}

export interface ChainInfo {
  readonly family: Family;
  readonly name: string;
  readonly rules: number;
}

export interface IptablesState {
  readonly sets: readonly SetInfo[];
  readonly chains: readonly ChainInfo[];
  /** `FORWARD -> SLUICE-FORWARD` per family. */
  readonly jumps: readonly { readonly family: Family; readonly from: string; readonly to: string }[];
}

/** Parses `ipset list -t` (headers only): one block per set. */
export function parseIpsetHeaders(text: string): SetInfo[] {
  const out: SetInfo[] = [];
  for (const block of text.split(/\n(?=Name: )/)) {
    const name = /^Name: (\S+)/m.exec(block)?.[1];
    if (name === undefined || !name.startsWith(SET_PREFIX)) continue;
    const type = /^Type: (\S+)/m.exec(block)?.[1] ?? '?';
    const members = Number(/^Number of entries: (\d+)/m.exec(block)?.[1] ?? 0);
    out.push({ name, type, members });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Parses `iptables-save -t filter` for sluice's chains (with rule counts) and the jumps into them. */
export function parseFilterTable(text: string, family: Family): Pick<IptablesState, 'chains' | 'jumps'> {
  const lines = text.split('\n');
  const chains = lines
    .filter((l) => l.startsWith(`:${CHAIN_PREFIX}`))
    .map((l) => l.slice(1).split(' ')[0] ?? '')
    .map((name) => ({ family, name, rules: lines.filter((l) => l.startsWith(`-A ${name} `)).length }));
  const jumps = lines.flatMap((l) => {
    const m = /^-A (FORWARD|INPUT|OUTPUT) -j (SLUICE-[A-Z0-9-]+)$/.exec(l);
    return m === null ? [] : [{ family, from: m[1] ?? '', to: m[2] ?? '' }];
  });
  return { chains, jumps };
}

export async function readIptablesState(
  opts: { netns?: string; variant?: IptablesVariant; families?: readonly Family[] } = {},
): Promise<IptablesState> {
  const run = new CommandRunner(opts.netns);
  const listed = await run.run('ipset', ['list', '-t'], { object: 'set list', allowFailure: true });
  const sets = listed.code === 0 ? parseIpsetHeaders(listed.stdout) : [];
  const chains: ChainInfo[] = [];
  const jumps: IptablesState['jumps'][number][] = [];
  for (const family of opts.families ?? FAMILIES) {
    const save = tools(opts.variant ?? 'iptables', family).save;
    const r = await run.run(save, ['-t', 'filter'], { object: 'filter table', allowFailure: true });
    if (r.code !== 0) continue;
    const parsed = parseFilterTable(r.stdout, family);
    chains.push(...parsed.chains);
    jumps.push(...parsed.jumps);
  }
  return { sets, chains, jumps };
}
