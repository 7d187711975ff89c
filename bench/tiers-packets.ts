/**
 * Which packets bench/tiers.ts times. Each goes from a pod on another node
 * to one local pod (so only that pod's ingress is judged, at
 * sluice_to_pod) and has the same verdict in every configuration: a new
 * TCP connection that is allowed, one that is denied, an ICMP echo.
 *
 * The local pods: one whose ingress rule set calls for the same map
 * lookups in every configuration (so the rows compare like with like: only
 * the number of policies differs), and the one with the largest rule set
 * under the ClusterNetworkPolicies, when their port ranges give it lookups
 * it did not have without them (a trie after the port hash, the ANY class
 * after its own).
 */
import { evaluateFlow, type Flow, type FlowVerdict, type SideVerdict } from '../src/compiler/verdict.js';
import type { CompiledPolicy, Endpoint } from '../src/model/compiled.js';
import type { Pod } from '../src/model/k8s.js';
import { PROTO, TCP, type PacketSpec } from '../test/ebpf/packets.js';

export interface PacketCase {
  readonly name: string;
  readonly flow: Flow;
  readonly spec: PacketSpec;
  /** The model's verdict, per configuration. */
  readonly verdicts: readonly FlowVerdict[];
  /** Every run is judged as a new flow (a TCP SYN with RST set, or a denied packet); otherwise a ct hit after the first. */
  readonly rejudged: boolean;
  /** Per configuration, for an allowed TCP packet: which map holds the row that allows it (Programmed.allowRow). */
  readonly rows: readonly string[];
}

/** What the datapaths programmed, per configuration (tiers-pinned.ts). */
export interface Programmed {
  /** The lookups a new flow to `ip` makes. */
  lookups(ip: string): string[];
  /** Where the row that allows `flow` is. */
  allowRow(flow: Flow): string[];
}

export interface Target {
  readonly endpoint: Endpoint;
  readonly ip: string;
  /** Per configuration: the lookups its ingress rule set calls for (Programmed.lookups). */
  readonly lookups: readonly string[];
  readonly cases: readonly PacketCase[];
}

const isV4 = (ip: string): boolean => !ip.includes(':');
const v4Of = (ips: readonly string[]): string | undefined => ips.find(isV4);

type Want = (verdicts: readonly FlowVerdict[]) => boolean;
type Hit = { flow: Flow; verdicts: FlowVerdict[] };

/** The first flow that `want` accepts, preferring those `prefer` accepts too. */
function firstFlow(
  models: readonly CompiledPolicy[],
  flows: readonly Flow[],
  want: Want,
  prefer: Want,
): Hit | undefined {
  let fallback: Hit | undefined;
  for (const flow of flows) {
    const verdicts = models.map((m) => evaluateFlow(m, flow));
    // The source must be on another node: its egress is judged elsewhere.
    if (verdicts.some((v) => v.egress.endpoint !== undefined) || !want(verdicts)) continue;
    if (prefer(verdicts)) return { flow, verdicts };
    fallback ??= { flow, verdicts };
  }
  return fallback;
}

const allOf =
  (allowed: boolean): Want =>
  (vs) =>
    vs.every((v) => v.allowed === allowed);
const sameVerdict: Want = (vs) => vs.every((v) => v.allowed === vs[0]?.allowed);
/** Denied in the last model by a ClusterNetworkPolicy rule, not only by NetworkPolicy isolation. */
const deniedByTier: Want = (vs) => vs[vs.length - 1]?.ingress.denial !== undefined;

function specOf(flow: Flow, allowed: boolean, sport: number): PacketSpec {
  if (flow.protocol === 'ICMP') return { src: flow.src, dst: flow.dst, proto: PROTO.icmp, icmpType: 8, icmpId: sport };
  // Allowed: RST keeps the ct entry closing, so the next SYN is a new flow again (bench/bpf-packet-scenario.ts).
  const tcpFlags = allowed ? TCP.syn | TCP.rst : TCP.syn;
  return { src: flow.src, dst: flow.dst, proto: PROTO.tcp, sport, dport: flow.port, tcpFlags };
}

/** The three packets to `dst`, or undefined when one of them has no source with one verdict in every model. */
function casesTo(
  models: readonly CompiledPolicy[],
  sources: readonly string[],
  dst: string,
  programmed: Programmed,
): PacketCase[] | undefined {
  const tcpFlows = (ports: readonly number[]): Flow[] =>
    sources.flatMap((src) => ports.map((port) => ({ src, dst, protocol: 'TCP' as const, port })));
  const icmp = sources.map((src): Flow => ({ src, dst, protocol: 'ICMP', port: 0 }));
  const found = [
    {
      name: 'new TCP connection, allowed',
      hit: firstFlow(models, tcpFlows([8080, 8081, 8082, 9090, 443]), allOf(true), allOf(true)),
    },
    {
      name: 'new TCP connection, denied',
      hit: firstFlow(models, tcpFlows([22, 6000, 81]), allOf(false), deniedByTier),
    },
    { name: 'ICMP echo', hit: firstFlow(models, icmp, sameVerdict, allOf(false)) },
  ];
  const cases: PacketCase[] = [];
  for (const [i, { name, hit }] of found.entries()) {
    if (hit === undefined) return undefined;
    const allowed = hit.verdicts[0]?.allowed ?? false;
    const spec = specOf(hit.flow, allowed, 40001 + i);
    const rejudged = !allowed || hit.flow.protocol === 'TCP';
    const rows = allowed && hit.flow.protocol === 'TCP' ? programmed.allowRow(hit.flow) : [];
    cases.push({ name, flow: hit.flow, spec, verdicts: hit.verdicts, rejudged, rows });
  }
  return cases;
}

/**
 * The local pods to time (see the file comment), each ingress-isolated in
 * every model.
 */
export function chooseTargets(
  models: readonly CompiledPolicy[],
  remote: readonly Pod[],
  programmed: Programmed,
): Target[] {
  const last = models[models.length - 1];
  const tuples = new Map(last?.ruleSets.map((r) => [r.key, r.tuples.length]));
  const size = (e: Endpoint): number => tuples.get(e.ingress.ruleSet ?? '') ?? 0;
  const isolated = (m: CompiledPolicy, pod: string): boolean =>
    m.endpoints.some((e) => e.pod === pod && e.ingress.isolated);
  const candidates = (last?.endpoints ?? [])
    .filter((e) => v4Of(e.ips) !== undefined && models.every((m) => isolated(m, e.pod)))
    .sort((a, b) => size(b) - size(a) || (a.pod < b.pod ? -1 : 1));
  const sources = remote.map((p) => v4Of(p.ips)).filter((ip): ip is string => ip !== undefined);
  const targetOf = (endpoint: Endpoint): Target | undefined => {
    const ip = v4Of(endpoint.ips) ?? '';
    const cases = casesTo(models, sources, ip, programmed);
    return cases === undefined ? undefined : { endpoint, ip, lookups: programmed.lookups(ip), cases };
  };
  const alike = (t: Target): boolean => t.lookups.every((l) => l === t.lookups[0]);
  const out: Target[] = [];
  let largest: Target | undefined;
  for (const e of candidates) {
    const t = targetOf(e);
    if (t === undefined) continue;
    largest ??= t;
    if (alike(t)) {
      out.push(t);
      break;
    }
  }
  if (largest !== undefined && !alike(largest)) out.push(largest);
  if (out.length === 0) throw new Error('no local pod, ingress-isolated in every configuration, has all three packets');
  return out;
}

/** Why a side decided, in a few words. */
export function why(side: SideVerdict): string {
  if (!side.isolated) return 'not isolated';
  const p = side.reason ?? side.denial;
  if (p === undefined) return side.allowed ? 'no tier decides' : 'no NetworkPolicy rule';
  return `${p.policy}${p.action === undefined ? '' : ` ${p.action}`}`;
}
