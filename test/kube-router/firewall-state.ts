/**
 * What kube-router's network policy controller leaves in a network namespace,
 * read and removed with iptables-save/iptables-restore and ipset run inside it.
 *
 * kube-router (v2.1.0) programs the filter table only: jumps from INPUT,
 * FORWARD and OUTPUT to KUBE-ROUTER-{INPUT,FORWARD,OUTPUT}, one KUBE-POD-FW-*
 * chain per local pod, one KUBE-NWPLCY-* chain per policy (and
 * KUBE-NWPLCY-DEFAULT), and hash:ip / hash:net sets KUBE-SRC-* and KUBE-DST-*
 * (`inet6:` in front for IPv6, TMP-* while it swaps them in). It removes none
 * of them when it exits, and its own `--cleanup-config` does not either: it
 * runs the policy controller's cleanup on a controller without iptables or
 * ipset handlers (a no-op that logs success), then panics in the service
 * proxy's cleanup, after asking for `modprobe ip_vs`. So the harness removes
 * them itself, and only them: the jumps by their target, the chains and sets
 * by their prefixes.
 */
import { run } from '../support/netns.js';

export type Family = 'ipv4' | 'ipv6';
export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const SAVE: Readonly<Record<Family, string>> = { ipv4: 'iptables-save', ipv6: 'ip6tables-save' };
const RESTORE: Readonly<Record<Family, string>> = { ipv4: 'iptables-restore', ipv6: 'ip6tables-restore' };

const CHAIN = /^(KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-)/;
const JUMP = / -[jg] (KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-)\S+/;
const SET = /^(inet6:)?(KUBE-SRC-|KUBE-DST-|TMP-)/;

/** kube-router's chains declared in `iptables-save` text (any table). */
export function kubeRouterChains(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0] ?? '')
    .filter((c) => CHAIN.test(c));
}

/** Sets of kube-router in `ipset list -n` output. */
export function kubeRouterSets(names: string): string[] {
  return names.split('\n').filter((n) => SET.test(n));
}

/** Rules (`-A` lines) in `iptables-save` text. */
export function ruleCount(save: string): number {
  return save.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/**
 * The `iptables-restore --noflush` input that removes kube-router from the
 * filter table in `save` (`iptables-save -t filter`): its jumps from other
 * chains, deleted by their saved spec, then its chains flushed and deleted.
 * Undefined when there is nothing of kube-router.
 */
export function cleanupScript(save: string): string | undefined {
  const lines = save.split('\n');
  const chains = kubeRouterChains(save);
  const jumps = lines
    .filter((l) => l.startsWith('-A ') && JUMP.test(l) && !CHAIN.test(l.split(' ')[1] ?? ''))
    .map((l) => `-D ${l.slice(3)}`);
  if (chains.length === 0 && jumps.length === 0) return undefined;
  return ['*filter', ...jumps, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join(
    '\n',
  );
}

const inNs = (netns: string, cmd: string, args: readonly string[], stdin?: string): Promise<string> =>
  run('ip', ['netns', 'exec', netns, cmd, ...args], stdin);

export interface FirewallState {
  /** `-A` lines of iptables-save / ip6tables-save (every table). */
  readonly rules: Readonly<Record<Family, number>>;
  /** Every set of `ipset list -n`. */
  readonly ipsets: number;
  /** kube-router's chains, as `ipv4 KUBE-ROUTER-INPUT`. */
  readonly chains: readonly string[];
  /** kube-router's sets. */
  readonly sets: readonly string[];
}

export async function firewallState(netns: string): Promise<FirewallState> {
  const saves = await Promise.all(FAMILIES.map((f) => inNs(netns, SAVE[f], [])));
  const names = await inNs(netns, 'ipset', ['list', '-n']);
  return {
    rules: { ipv4: ruleCount(saves[0] ?? ''), ipv6: ruleCount(saves[1] ?? '') },
    ipsets: names.split('\n').filter((n) => n !== '').length,
    chains: FAMILIES.flatMap((f, i) => kubeRouterChains(saves[i] ?? '').map((c) => `${f} ${c}`)),
    sets: kubeRouterSets(names),
  };
}

/** Removes kube-router's chains, jumps and sets from `netns` (after it has exited). */
export async function removeKubeRouterState(netns: string): Promise<void> {
  for (const f of FAMILIES) {
    const script = cleanupScript(await inNs(netns, SAVE[f], ['-t', 'filter']));
    if (script !== undefined) await inNs(netns, RESTORE[f], ['--noflush'], script);
  }
  const sets = kubeRouterSets(await inNs(netns, 'ipset', ['list', '-n']));
  if (sets.length > 0) await inNs(netns, 'ipset', ['restore'], sets.map((s) => `destroy ${s}\n`).join(''));
}

/**
 * The host's own firewall, to compare before and after: every iptables
 * backend's rules for both families (packet counters dropped) and the ipset
 * names. A backend that is not installed reads as its error text.
 */
export async function hostFirewall(): Promise<string> {
  const saves = ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save'];
  const out = await Promise.all(
    [...saves.map((s) => [s, []] as const), ['ipset', ['list', '-n']] as const].map(async ([cmd, args]) => {
      const text = await run(cmd, args).catch((e: unknown) => `${cmd}: ${String(e)}`);
      const lines = text.split('\n').filter((l) => !l.startsWith('#'));
      return [`== ${cmd}`, ...lines.map((l) => l.replace(/ \[\d+:\d+\]$/, ''))].join('\n');
    }),
  );
  return out.join('\n');
}
