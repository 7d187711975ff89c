/**
 * What the iptables datapath needs, tried inside the probe's network
 * namespace (see probe-netns.ts): each iptables tool lists its filter table (which backend it
 * drives, nft or legacy, and whether the kernel answers), ipset creates and
 * destroys a set of each type the planner uses (sets.ts), and a temporary
 * chain takes the conntrack, connmark and set matches and the CONNMARK target
 * the SLUICE chains use.
 */
import type { Need, ProbeCheck } from './probe.js';
import type { ProbeNetns } from './probe-netns.js';
import { toolError } from './probe-netns.js';
import { policyMarkSpec } from './iptables/names.js';

type Result = { readonly ok: boolean; readonly reason: string };

/** The planner's set types; without hash:net,net it expands port ranges into hash:ip,port,net. */
const SET_TYPES: readonly { readonly type: string; readonly need: Need; readonly without?: string }[] = [
  { type: 'hash:ip', need: 'required' },
  { type: 'hash:ip,port,net', need: 'required' },
  { type: 'hash:net,net', need: 'optional', without: 'port ranges are expanded into hash:ip,port,net' },
];

const TOOLS: readonly { readonly tool: string; readonly need: Need }[] = [
  { tool: 'iptables', need: 'required' },
  { tool: 'ip6tables', need: 'required' },
  { tool: 'iptables-nft', need: 'optional' },
  { tool: 'iptables-legacy', need: 'optional' },
];

/** Own names (the pid), so checks that must run in the node's namespace touch nothing else. */
const CHAIN = `SLUICE-PROBE-${process.pid}`;
const SET = `sluice-probe-${process.pid}`;

/** `iptables v1.8.9 (nf_tables)` → nft; `(legacy)` → legacy. */
export function iptablesBackend(version: string): 'nft' | 'legacy' | undefined {
  if (/\(nf_tables\)/.test(version)) return 'nft';
  if (/\(legacy\)/.test(version)) return 'legacy';
  return undefined;
}

async function toolCheck(netns: ProbeNetns, tool: string): Promise<Result> {
  const v = await netns.exec(tool, ['--version']);
  if (v.code !== 0) return { ok: false, reason: toolError(v) };
  const version = v.stdout.trim();
  const list = await netns.exec(tool, ['-w', '-t', 'filter', '-S']);
  if (list.code !== 0) return { ok: false, reason: `${version}: ${toolError(list)}` };
  return { ok: true, reason: `${version}, ${iptablesBackend(version) ?? 'unknown'} backend` };
}

async function setTypeCheck(netns: ProbeNetns, type: string, without: string | undefined): Promise<Result> {
  const made: string[] = [];
  try {
    for (const family of ['inet', 'inet6']) {
      const name = `${SET}-${family}`;
      const r = await netns.exec('ipset', ['create', name, type, 'family', family]);
      if (r.code !== 0) {
        const reason = `${family}: ${toolError(r)}`;
        return { ok: false, reason: without === undefined ? reason : `${reason} (${without})` };
      }
      made.push(name);
    }
    return { ok: true, reason: 'created and destroyed (inet, inet6)' };
  } finally {
    for (const name of made) await netns.exec('ipset', ['destroy', name]);
  }
}

/** A rule with `spec` (a match, or a target after `-j`) in a temporary chain, then the chain removed. */
async function matchCheck(netns: ProbeNetns, spec: readonly string[]): Promise<Result> {
  const created = await netns.exec('iptables', ['-w', '-N', CHAIN]);
  if (created.code !== 0) return { ok: false, reason: toolError(created) };
  try {
    const rule = spec.includes('-j') ? spec : [...spec, '-j', 'RETURN'];
    const r = await netns.exec('iptables', ['-w', '-A', CHAIN, ...rule]);
    return r.code === 0 ? { ok: true, reason: `accepted: ${spec.join(' ')}` } : { ok: false, reason: toolError(r) };
  } finally {
    await netns.exec('iptables', ['-w', '-F', CHAIN]);
    await netns.exec('iptables', ['-w', '-X', CHAIN]);
  }
}

async function setMatchCheck(netns: ProbeNetns): Promise<Result> {
  const set = `${SET}-match`;
  const r = await netns.exec('ipset', ['create', set, 'hash:ip']);
  if (r.code !== 0) return { ok: false, reason: `not tried: ${toolError(r)}` };
  try {
    return await matchCheck(netns, ['-m', 'set', '--match-set', set, 'src']);
  } finally {
    await netns.exec('ipset', ['destroy', set]);
  }
}

export async function iptablesChecks(netns: ProbeNetns): Promise<ProbeCheck[]> {
  const checks: ProbeCheck[] = [];
  const add = (name: string, need: Need, r: Result): void => {
    checks.push({ name, datapath: 'iptables', need, ...r });
  };
  // Without a temporary namespace the checks run here, under their own names, and say so.
  const where = netns.path === undefined ? ` (in this network namespace; ${netns.error})` : '';
  const run = async (fn: () => Promise<Result>): Promise<Result> => {
    const r = await fn();
    return { ok: r.ok, reason: `${r.reason}${where}` };
  };
  for (const t of TOOLS) add(t.tool, t.need, await run(() => toolCheck(netns, t.tool)));
  for (const s of SET_TYPES) add(`ipset ${s.type}`, s.need, await run(() => setTypeCheck(netns, s.type, s.without)));
  const ct = ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'];
  add('conntrack-match', 'required', await run(() => matchCheck(netns, ct)));
  const mark = policyMarkSpec(1);
  add('connmark-match', 'required', await run(() => matchCheck(netns, ['-m', 'connmark', '--mark', mark])));
  add('connmark-target', 'required', await run(() => matchCheck(netns, ['-j', 'CONNMARK', '--set-xmark', mark])));
  add('set-match', 'required', await run(() => setMatchCheck(netns)));
  return checks;
}
