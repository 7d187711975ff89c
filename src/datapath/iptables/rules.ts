/**
 * The SLUICE chains: a fixed list of rules per family that only names sets.
 * Its length depends on the family and the port-agnostic mode, never on the
 * number of pods, peers or policies.
 *
 *   FORWARD ─▶ SLUICE-FORWARD: known flow → RETURN; EGRESS; host source → mark, RETURN; INGRESS; mark
 *   INPUT   ─▶ SLUICE-INPUT:   known flow → RETURN; EGRESS; mark                         (pod → node)
 *   OUTPUT  ─▶ SLUICE-OUTPUT:  known flow → RETURN; host source → mark, RETURN; INGRESS; mark
 *   SLUICE-EGRESS  judges packets *from* an egress-isolated endpoint (src in egress-iso),
 *   SLUICE-INGRESS judges packets *to* an ingress-isolated endpoint (dst in ingress-iso):
 *   a set hit RETURNs; then an audited endpoint (in <dir>-audit) RETURNs too,
 *   counted; anything else is DROPped. A PORTLESS tuple (<dir>-noport,
 *   netnet mode) is consulted after TCP, UDP and SCTP packets have had their
 *   audit rule and DROP, so it only ever allows the other protocols (judge()).
 *
 * A known flow is one of: an established connection carrying this ruleset's
 * policy mark (names.ts: it was allowed by these very rules), a reply, or a
 * related packet (an ICMP error of a tracked flow). A packet that gets past
 * the judging chains marks its connection (`mark`). An established
 * connection judged under older rules (another mark, or none) is judged
 * again on its next packet in the original direction and dropped if the new
 * rules deny it, as the eBPF datapath does with its ct entries' policy_gen:
 * a policy that lands cuts the flows it denies (for a TCP connection, the
 * client's segments are dropped; replies already under way still pass).
 *
 * Audit (DirectionState.audit): the one rule before each DROP matches the
 * endpoint against `<dir>-audit`, a set created with counters. Only packets
 * that no allow rule RETURNed reach it, so the kernel's per-element packet
 * counter is exactly the endpoint's "would deny" count; the packet RETURNs
 * and is marked like an allowed one. So a would-deny flow is counted on the
 * packets that are judged: its first one (once answered, the flow is known),
 * and its next one after each apply (a new policy mark), as for a new flow.
 *
 * Allowed traffic RETURNs instead of being ACCEPTed: sluice only ever denies,
 * so the node's own FORWARD rules and policy keep applying after it.
 *
 * Deny is DROP, not REJECT: the eBPF datapath drops too (both datapaths must
 * give identical verdicts), a DROP reveals nothing about the policy to the
 * sender, and a REJECT's ICMP error would itself leave through these chains.
 * The cost is that a denied client waits for its connect timeout.
 *
 * filter FORWARD/INPUT/OUTPUT run after nat PREROUTING/OUTPUT, so a packet to
 * a ClusterIP is judged on the backend kube-proxy picked. Same-node traffic
 * across a Linux bridge reaches FORWARD only with br_netfilter and
 * net.bridge.bridge-nf-call-iptables=1 (ip6tables for IPv6) in the node's
 * network namespace (the sysctl is per namespace on current kernels); the
 * rules match addresses only, so they need no physdev match.
 */
import type { Direction } from '../../model/compiled.js';
import { CHAINS, JUMPS, PORT_PROTOCOLS, policyMarkSpec, setName } from './names.js';
import type { Family, Generation, SetKind } from './names.js';
import type { PortAgnostic } from './port-segments.js';

export interface RuleOptions {
  readonly generation: Generation;
  /** The policy mark (1‥255, names.ts) connections allowed by these rules carry. */
  readonly policyMark: number;
  readonly portAgnostic: PortAgnostic;
  /** Built-in chains that still lack their jump to a SLUICE chain. */
  readonly missingJumps: readonly ('FORWARD' | 'INPUT' | 'OUTPUT')[];
}

/** ICMPv6 neighbour discovery must pass or IPv6 itself breaks. */
const NDP_TYPES = ['router-solicitation', 'router-advertisement', 'neighbour-solicitation', 'neighbour-advertisement'];

const comment = (text: string): string => `-m comment --comment "sluice: ${text}"`;

/** `iptables-restore --noflush` text: declares (and so flushes) every SLUICE chain, then fills it. */
export function rulesText(family: Family, opts: RuleOptions): string {
  const set = (kind: SetKind): string => setName(kind, family, opts.generation);
  const lines: string[] = ['*filter', ...Object.values(CHAINS).map((c) => `:${c} - [0:0]`)];
  const rule = (chain: string, spec: string): void => {
    lines.push(`-A ${chain} ${spec}`);
  };
  const mark = policyMarkSpec(opts.policyMark);
  const markFlow = `-j CONNMARK --set-xmark ${mark}`;
  const knownFlows = (chain: string): void => {
    rule(
      chain,
      `-m conntrack --ctstate ESTABLISHED -m connmark --mark ${mark} ${comment('allowed by these rules')} -j RETURN`,
    );
    rule(chain, `-m conntrack --ctstate ESTABLISHED --ctdir REPLY ${comment('replies')} -j RETURN`);
    rule(chain, `-m conntrack --ctstate RELATED -j RETURN`);
  };
  const hostSource = (chain: string): void => {
    const host = `-m set --match-set ${set('host')} src`;
    rule(chain, `${host} ${markFlow}`);
    rule(chain, `${host} ${comment('node to pod')} -j RETURN`);
  };
  knownFlows(CHAINS.forward);
  rule(CHAINS.forward, `-j ${CHAINS.egress}`);
  hostSource(CHAINS.forward);
  rule(CHAINS.forward, `-j ${CHAINS.ingress}`);
  rule(CHAINS.forward, markFlow);
  knownFlows(CHAINS.input);
  rule(CHAINS.input, `-j ${CHAINS.egress}`);
  rule(CHAINS.input, markFlow);
  knownFlows(CHAINS.output);
  hostSource(CHAINS.output);
  rule(CHAINS.output, `-j ${CHAINS.ingress}`);
  rule(CHAINS.output, markFlow);
  for (const direction of ['egress', 'ingress'] as const) judge(direction, family, opts, rule, set);
  for (const j of JUMPS) {
    if (opts.missingJumps.includes(j.from)) lines.push(`-I ${j.from} 1 -j ${j.to}`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * The rules of SLUICE-EGRESS or SLUICE-INGRESS. Every allow rule RETURNs;
 * what none allows reaches an audit rule and a DROP. In `netnet` mode a
 * PORTLESS tuple (`<dir>-noport`) must match only packets that are not TCP,
 * UDP or SCTP, and a rule takes a single `-p`: so after the allow rules
 * (which judged every port of these three), a packet of each of them gets
 * its own audit rule and DROP, and only then is `<dir>-noport` consulted;
 * what it does not allow gets the last audit rule and DROP. No sub-chain:
 * a chain that names a set would outlive a rollback to a release that does
 * not know it and keep that generation of sets from being destroyed.
 */
function judge(
  direction: Direction,
  family: Family,
  opts: RuleOptions,
  rule: (chain: string, spec: string) => void,
  set: (kind: SetKind) => string,
): void {
  const chain = direction === 'egress' ? CHAINS.egress : CHAINS.ingress;
  // The endpoint is the source of egress packets and the destination of ingress packets.
  const [ep, peer] = direction === 'egress' ? ['src', 'dst'] : ['dst', 'src'];
  /** The audit rule and the DROP of what no allow rule took, for packets that match `guard`. */
  const deny = (guard: string): void => {
    const audit = `-m set --match-set ${set(`${direction}-audit`)} ${ep}`;
    rule(chain, `${guard}${audit} ${comment(`${direction} would deny (audit)`)} -j RETURN`);
    rule(chain, `${guard}${comment(`${direction} not allowed by policy`)} -j DROP`);
  };
  rule(chain, `-m set ! --match-set ${set(`${direction}-iso`)} ${ep} -j RETURN`);
  if (family === 6) {
    for (const t of NDP_TYPES) rule(chain, `-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`);
  }
  if (opts.portAgnostic === 'netnet') {
    rule(chain, `-m set --match-set ${set(`${direction}-any`)} ${ep},${peer} -j RETURN`);
    for (const p of PORT_PROTOCOLS) {
      rule(chain, `-p ${p} -m set --match-set ${set(`${direction}-${p}`)} ${ep},${peer} -j RETURN`);
    }
  }
  rule(chain, `-m set --match-set ${set(`${direction}-port`)} ${ep},dst,${peer} -j RETURN`);
  if (opts.portAgnostic === 'netnet') {
    for (const p of PORT_PROTOCOLS) deny(`-p ${p} `);
    rule(chain, `-m set --match-set ${set(`${direction}-noport`)} ${ep},${peer} ${comment('no ports')} -j RETURN`);
  }
  deny('');
}

/** Number of rules `rulesText` writes in SLUICE chains (jumps excluded). */
export function ruleCount(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('-A SLUICE-')).length;
}
