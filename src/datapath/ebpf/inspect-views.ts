/**
 * The views of `sluice inspect` over the pinned maps: each returns plain
 * data (for --output json) and its text rendering.
 */

import {
  DIRECTION_NAMES,
  nameOf,
  readCt,
  readEndpoints,
  readNameTables,
  readPeers,
  readPolicyRows,
  readStats,
  type NameTables,
  type PeerInfo,
} from './inspect.js';
import ipaddr from 'ipaddr.js';

import * as L from './layout.js';
import { protocolName, rowMatch } from './policy-rows.js';

export interface ViewResult {
  readonly data: unknown;
  readonly text: string;
  /** False when the asked-for object (a pod) is not programmed. */
  readonly found: boolean;
}

/** Prefixes of other classes nested inside `cidr` (ipBlock except atoms, or pods inside a block). */
function nestedIn(cidr: string, peers: readonly PeerInfo[], id: number): string[] {
  const outer = ipaddr.parseCIDR(cidr);
  return peers
    .filter((p) => p.peerClass !== id)
    .filter((p) => {
      const inner = ipaddr.parseCIDR(p.cidr);
      return inner[0].kind() === outer[0].kind() && inner[1] > outer[1] && inner[0].match(outer);
    })
    .map((p) => p.cidr);
}

/** A peer class as the operator knows it: world, any, or its local pods and CIDRs (with their excepts). */
export function classLabel(t: NameTables, peers: readonly PeerInfo[], id: number): string {
  if (id === L.PEER_CLASS.any) return 'any peer';
  const pods = new Set<string>();
  const cidrs: string[] = [];
  for (const p of peers.filter((x) => x.peerClass === id)) {
    const pod = t.podByAddr.get(p.cidr.replace(/\/(32|128)$/, ''));
    if (pod !== undefined) pods.add(pod);
    else {
      const except = nestedIn(p.cidr, peers, id);
      cidrs.push(except.length === 0 ? p.cidr : `${p.cidr} except ${except.join(', ')}`);
    }
  }
  const members = [...[...pods].sort(), ...cidrs];
  if (id === L.PEER_CLASS.world) return members.length > 0 ? `world (and except atoms ${members.join(', ')})` : 'world';
  return `class ${id} [${members.join(', ')}]`;
}

function endpointsView(pinRoot: string): ViewResult {
  const t = readNameTables(pinRoot);
  const eps = readEndpoints(pinRoot, t.byKind);
  const iso = (d: { isolated: boolean; audit: boolean; ruleset: number }): string =>
    d.isolated ? `${d.audit ? 'audited' : 'isolated'} (rule set ${d.ruleset})` : 'open';
  const lines = [`${'POD'.padEnd(28)} ${'ADDRESSES'.padEnd(36)} ${'INGRESS'.padEnd(24)} EGRESS`];
  for (const e of eps) {
    lines.push(`${e.pod.padEnd(28)} ${e.addresses.join(',').padEnd(36)} ${iso(e.ingress).padEnd(24)} ${iso(e.egress)}`);
  }
  return { data: eps, text: `${lines.join('\n')}\n`, found: true };
}

function policyView(pinRoot: string, pod: string): ViewResult {
  const t = readNameTables(pinRoot);
  const ep = readEndpoints(pinRoot, t.byKind).find((e) => e.pod === pod);
  if (ep === undefined) return { data: null, text: `no endpoint ${pod} is programmed on this node\n`, found: false };
  const rows = readPolicyRows(pinRoot);
  const peers = readPeers(pinRoot);
  const lines = [`${pod} (${ep.addresses.join(', ')})`];
  const data: Record<string, unknown> = { pod, addresses: ep.addresses };
  for (const dir of DIRECTION_NAMES) {
    const state = ep[dir];
    if (!state.isolated) {
      lines.push(`  ${dir}: not isolated, everything allowed`);
      data[dir] = { isolated: false, allow: [] };
      continue;
    }
    const mine = rows.filter((r) => r.ruleset === state.ruleset && r.direction === L.DIRECTION[dir]);
    const allow = mine.map((r) => ({
      peer: classLabel(t, peers, r.peerClass),
      peerClass: r.peerClass,
      ...rowMatch(r),
      policy: nameOf(t, L.NAME_KIND.policy, r.policyId) ?? `policy-${r.policyId}`,
      rule: r.rule,
    }));
    data[dir] = { isolated: true, ruleset: state.ruleset, allow };
    lines.push(`  ${dir}: isolated, rule set ${state.ruleset}, ${allow.length === 0 ? 'nothing allowed' : 'allows:'}`);
    const word = dir === 'ingress' ? 'from' : 'to';
    for (const a of allow) {
      lines.push(`    ${word} ${a.peer} ${a.protocol} ${a.ports}   (${a.policy} ${dir} rule ${a.rule})`);
    }
  }
  return { data, text: `${lines.join('\n')}\n`, found: true };
}

function peersView(pinRoot: string): ViewResult {
  const t = readNameTables(pinRoot);
  const peers = readPeers(pinRoot).map((p) => ({
    ...p,
    pod: t.podByAddr.get(p.cidr.replace(/\/(32|128)$/, '')),
    classKey: nameOf(t, L.NAME_KIND.peerClass, p.peerClass),
  }));
  const lines = [`${'CIDR'.padEnd(40)} ${'CLASS'.padEnd(8)} POD`];
  for (const p of peers) {
    lines.push(`${p.cidr.padEnd(40)} ${(p.peerClass === 0 ? 'world' : String(p.peerClass)).padEnd(8)} ${p.pod ?? ''}`);
  }
  return { data: peers, text: `${lines.join('\n')}\n`, found: true };
}

const CT_FLAG_NAMES: readonly [number, string][] = [
  [L.CT_FLAGS.seenReply, 'seen-reply'],
  [L.CT_FLAGS.finFwd, 'fin-fwd'],
  [L.CT_FLAGS.finRev, 'fin-rev'],
  [L.CT_FLAGS.rst, 'rst'],
  [L.CT_FLAGS.service, 'service'],
  [L.CT_FLAGS.denied, 'denied'],
];

function ctView(pinRoot: string): ViewResult {
  const t = readNameTables(pinRoot);
  const flows = readCt(pinRoot).map((f) => ({
    ...f,
    protocol: protocolName(f.protocol),
    srcPod: t.podByAddr.get(f.saddr),
    dstPod: t.podByAddr.get(f.daddr),
    ageSeconds: Number(f.ageNs / 1_000_000n) / 1000,
    flagNames: CT_FLAG_NAMES.filter(([bit]) => (f.flags & bit) !== 0).map(([, n]) => n),
  }));
  const side = (pod: string | undefined, addr: string, port: number): string =>
    `${pod === undefined ? '' : `${pod} `}${addr.includes(':') ? `[${addr}]` : addr}:${port}`;
  const lines = flows.map(
    (f) =>
      `${f.direction.padEnd(7)} ${f.protocol.padEnd(6)} ${side(f.srcPod, f.saddr, f.sport)} -> ${side(f.dstPod, f.daddr, f.dport)}` +
      `  age ${f.ageSeconds.toFixed(1)}s${f.flagNames.length > 0 ? ` [${f.flagNames.join(',')}]` : ''}`,
  );
  return { data: flows, text: `${[`${flows.length} flows`, ...lines].join('\n')}\n`, found: true };
}

function statsView(pinRoot: string): ViewResult {
  const t = readNameTables(pinRoot);
  const stats = readStats(pinRoot, t.byKind.get(L.NAME_KIND.endpoint)?.keys() ?? []).map((s) => ({
    pod:
      s.endpointId === 0
        ? '(unknown endpoint)'
        : (nameOf(t, L.NAME_KIND.endpoint, s.endpointId) ?? `endpoint-${s.endpointId}`),
    ...s,
  }));
  const lines = [`${'POD'.padEnd(28)} ${'DIRECTION'.padEnd(9)} ${'ALLOWED'.padStart(12)} ${'DENIED'.padStart(12)}`];
  for (const s of stats) {
    lines.push(
      `${s.pod.padEnd(28)} ${s.direction.padEnd(9)} ${String(s.allowedPackets).padStart(12)} ${String(s.deniedPackets).padStart(12)}`,
    );
  }
  return { data: stats, text: `${lines.join('\n')}\n`, found: true };
}

export function inspectView(pinRoot: string, view: string, pod: string | undefined): ViewResult {
  switch (view) {
    case 'policy':
      return policyView(pinRoot, pod ?? '');
    case 'peers':
      return peersView(pinRoot);
    case 'ct':
      return ctView(pinRoot);
    case 'stats':
      return statsView(pinRoot);
    default:
      return endpointsView(pinRoot);
  }
}
