/**
 * Short builders for ClusterNetworkPolicy rows, and the flow check they share:
 * `admin('deny-y', 10, subjectNs(sel({ team: 'red' })), cnpIngress(deny('from-y', peerNs(nsNamed('y')))))`.
 * Rules take their `name` first ('' for none), then one peer or a list, then
 * the `protocols` entries (none: every protocol and port, ICMP included).
 */
import assert from 'node:assert/strict';
import { createCompiler } from '../../src/compiler/compile.js';
import { evaluateFlow, type Flow, type FlowProtocol, type SideVerdict } from '../../src/compiler/verdict.js';
import type { Direction, Provenance } from '../../src/model/compiled.js';
import {
  cnpId,
  type ClusterNetworkPolicy,
  type ClusterSnapshot,
  type CnpAction,
  type CnpPeer,
  type CnpPodSelector,
  type CnpPort,
  type CnpRule,
  type CnpTier,
  type Labels,
  type LabelSelector,
  type Pod,
} from '../../src/model/k8s.js';
import { cidr, ns, sel } from './builders.js';

/** The empty selector: every namespace, or every pod. */
export const ALL: LabelSelector = sel();

/** `kubernetes.io/metadata.name: <name>`, the label every namespace carries. */
export const nsNamed = (name: string): LabelSelector => sel({ 'kubernetes.io/metadata.name': name });

// Subjects. "Note that host-networked pods are not included in subject selection."

/** `subject.namespaces`: every pod of the selected namespaces. */
export const subjectNs = (namespaces: LabelSelector): CnpPodSelector => ({ namespaces, pods: undefined });
/** `subject.pods`: "select pods via namespace AND pod selectors". */
export const subjectPods = (namespaces: LabelSelector, pods: LabelSelector): CnpPodSelector => ({ namespaces, pods });

// Peers.

/** Peer `namespaces`. */
export const peerNs = (namespaces: LabelSelector): CnpPeer => ({ kind: 'pods', namespaces, pods: undefined });
/** Peer `pods` (namespaceSelector and podSelector). */
export const peerPods = (namespaces: LabelSelector, pods: LabelSelector): CnpPeer => ({
  kind: 'pods',
  namespaces,
  pods,
});
/** Egress peer `networks`. */
export const peerNets = (...cidrs: string[]): CnpPeer => ({ kind: 'networks', cidrs: cidrs.map(cidr) });
/** Egress peer `nodes` (experimental): not enforced by sluice, fails closed. */
export const peerNodes: CnpPeer = { kind: 'unsupported', field: 'nodes' };
/** Egress peer `domainNames` (experimental): not enforced by sluice, fails closed. */
export const peerDomains: CnpPeer = { kind: 'unsupported', field: 'domainNames' };
/** A peer with no field sluice knows (a newer CRD): fails closed. */
export const peerUnknown: CnpPeer = { kind: 'unsupported', field: 'unknown' };

// Protocols.

/** `tcp.destinationPort`: `number` when `end` is absent, else `range`. */
export const tcp = (port: number, end = port): CnpPort => ({ kind: 'number', protocol: 'TCP', port, endPort: end });
export const udp = (port: number, end = port): CnpPort => ({ kind: 'number', protocol: 'UDP', port, endPort: end });
export const sctp = (port: number, end = port): CnpPort => ({ kind: 'number', protocol: 'SCTP', port, endPort: end });
/** `destinationNamedPort`. */
export const namedPort = (name: string): CnpPort => ({ kind: 'named', name });

// Rules.

function cnpRule(action: CnpAction, name: string, peers: CnpPeer | readonly CnpPeer[], ports: CnpPort[]): CnpRule {
  return {
    name: name === '' ? undefined : name,
    action,
    peers: 'kind' in peers ? [peers] : peers,
    ports: ports.length === 0 ? undefined : ports,
  };
}

export const accept = (name: string, peers: CnpPeer | readonly CnpPeer[], ...ports: CnpPort[]): CnpRule =>
  cnpRule('Accept', name, peers, ports);
export const deny = (name: string, peers: CnpPeer | readonly CnpPeer[], ...ports: CnpPort[]): CnpRule =>
  cnpRule('Deny', name, peers, ports);
export const pass = (name: string, peers: CnpPeer | readonly CnpPeer[], ...ports: CnpPort[]): CnpRule =>
  cnpRule('Pass', name, peers, ports);

// Policies.

export type CnpTweak = (p: ClusterNetworkPolicy) => ClusterNetworkPolicy;

export function cnp(
  name: string,
  tier: CnpTier,
  priority: number,
  subject: CnpPodSelector,
  ...tweaks: CnpTweak[]
): ClusterNetworkPolicy {
  return tweak({ name, tier, priority, subject, ingress: [], egress: [] }, ...tweaks);
}

export const admin = (name: string, priority: number, subject: CnpPodSelector, ...tweaks: CnpTweak[]) =>
  cnp(name, 'Admin', priority, subject, ...tweaks);
export const baseline = (name: string, priority: number, subject: CnpPodSelector, ...tweaks: CnpTweak[]) =>
  cnp(name, 'Baseline', priority, subject, ...tweaks);

export function tweak(p: ClusterNetworkPolicy, ...tweaks: CnpTweak[]): ClusterNetworkPolicy {
  return tweaks.reduce((q, t) => t(q), p);
}

export const cnpIngress =
  (...rules: CnpRule[]): CnpTweak =>
  (p) => ({ ...p, ingress: rules });
export const cnpEgress =
  (...rules: CnpRule[]): CnpTweak =>
  (p) => ({ ...p, egress: rules });
export const priority =
  (n: number): CnpTweak =>
  (p) => ({ ...p, priority: n });

function swapped(rules: readonly CnpRule[], i: number, j: number): CnpRule[] {
  const out = [...rules];
  const [a, b] = [out[i], out[j]];
  assert.ok(a !== undefined && b !== undefined, `no rules ${i} and ${j} to swap`);
  out[i] = b;
  out[j] = a;
  return out;
}

/** The conformance tests' `mutate.Spec.Ingress[i], mutate.Spec.Ingress[j] = …[j], …[i]`. */
export const swapIngress =
  (i: number, j: number): CnpTweak =>
  (p) => ({ ...p, ingress: swapped(p.ingress, i, j) });
export const swapEgress =
  (i: number, j: number): CnpTweak =>
  (p) => ({ ...p, egress: swapped(p.egress, i, j) });

function edited(rules: readonly CnpRule[], i: number, f: (r: CnpRule) => CnpRule): CnpRule[] {
  assert.ok(rules[i] !== undefined, `no rule ${i} to edit`);
  return rules.map((r, k) => (k === i ? f(r) : r));
}

export const editIngress =
  (i: number, f: (r: CnpRule) => CnpRule): CnpTweak =>
  (p) => ({ ...p, ingress: edited(p.ingress, i, f) });
export const editEgress =
  (i: number, f: (r: CnpRule) => CnpRule): CnpTweak =>
  (p) => ({ ...p, egress: edited(p.egress, i, f) });
export const prependEgress =
  (rule: CnpRule): CnpTweak =>
  (p) => ({ ...p, egress: [rule, ...p.egress] });

/** Rule edits: replace `protocols`, or the action. */
export const protocols =
  (...ports: CnpPort[]) =>
  (r: CnpRule): CnpRule => ({ ...r, ports });
export const action =
  (a: CnpAction) =>
  (r: CnpRule): CnpRule => ({ ...r, action: a });

// Snapshots.

export type Edit = (s: ClusterSnapshot) => ClusterSnapshot;

/** `clusterPolicies`, sorted by name as the model requires. */
export function withCnps(s: ClusterSnapshot, cnps: readonly ClusterNetworkPolicy[]): ClusterSnapshot {
  const sorted = [...cnps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...s, clusterPolicies: sorted };
}

const idOf = (p: Pod): string => `${p.namespace}/${p.name}`;

export const editPod =
  (id: string, f: (p: Pod) => Pod): Edit =>
  (s) => {
    assert.ok(
      s.pods.some((p) => idOf(p) === id || p.name === id),
      `no pod ${id} to edit`,
    );
    return { ...s, pods: s.pods.map((p) => (idOf(p) === id || p.name === id ? f(p) : p)) };
  };

/** Sets one label of a pod (the conformance tests' `SetPodLabel`). */
export const labelPod = (id: string, key: string, value: string): Edit =>
  editPod(id, (p) => ({ ...p, labels: { ...p.labels, [key]: value } }));

/** Replaces a namespace's labels; `kubernetes.io/metadata.name` stays, as the API server keeps it. */
export const relabelNs =
  (name: string, labels: Labels): Edit =>
  (s) => ({ ...s, namespaces: s.namespaces.map((n) => (n.name === name ? ns(name, labels) : n)) });

export const addPods =
  (...pods: Pod[]): Edit =>
  (s) => ({ ...s, pods: [...s.pods, ...pods] });

export const edits =
  (...list: Edit[]): Edit =>
  (s) =>
    list.reduce((t, e) => e(t), s);

// Expectations.

/**
 * Which side's `reason` to check, and what it must name. `policy` is a
 * ClusterNetworkPolicy name (then tier, priority, action and rule name come
 * from that policy in the snapshot), a NetworkPolicy `namespace/name`, or
 * undefined: nothing decided that side (allowed by default, or after Pass).
 */
export interface By {
  readonly side: Direction;
  readonly policy: string | undefined;
  readonly rule: number;
}

export const ingressBy = (policy: string, rule: number): By => ({ side: 'ingress', policy, rule });
export const egressBy = (policy: string, rule: number): By => ({ side: 'egress', policy, rule });
/** Allowed without any rule deciding this side. */
export const undecided = (side: Direction): By => ({ side, policy: undefined, rule: -1 });

/**
 * `[from, to, 'TCP/80' | 'ICMP', allowed, by?]`. `from`/`to` are a pod name,
 * a `namespace/name` or an address. `by` is only given for allowed flows:
 * a denial's rule is not on the verdict yet.
 */
export type Expect = readonly [string, string, string, boolean, By?];

export interface CheckOptions {
  readonly family?: 4 | 6;
  /**
   * Snapshots one incremental compiler compiles first, in order, before the
   * checked one: the conformance steps that led here (label changes and back).
   */
  readonly history?: readonly ClusterSnapshot[];
}

export function addressIn(s: ClusterSnapshot, who: string, family: 4 | 6): string {
  const found = s.pods.filter((p) => idOf(p) === who || p.name === who);
  if (found.length === 0) {
    assert.ok(/^[0-9a-f.:]+$/i.test(who), `no pod ${who}`);
    return who;
  }
  assert.equal(found.length, 1, `pod name ${who} is ambiguous`);
  const ip = found[0]?.ips.find((i) => (family === 4 ? !i.includes(':') : i.includes(':')));
  assert.ok(ip !== undefined, `pod ${who} has no IPv${family} address`);
  return ip;
}

function flowOf(s: ClusterSnapshot, from: string, to: string, what: string, family: 4 | 6): Flow {
  const [protocol, portText] = what.split('/') as [FlowProtocol, string | undefined];
  return {
    src: addressIn(s, from, family),
    dst: addressIn(s, to, family),
    protocol,
    port: Number(portText ?? 0),
  };
}

const show = (r: Provenance | undefined): string =>
  r === undefined
    ? 'no reason'
    : `${r.policy} ${r.direction}[${r.rule}]` +
      (r.tier === undefined ? '' : ` ${r.tier}/${String(r.priority)} ${String(r.action)} "${String(r.ruleName)}"`);

const sideText = (v: SideVerdict): string => `${v.allowed ? 'allows' : 'denies'} (${show(v.reason)})`;

function checkReason(s: ClusterSnapshot, side: SideVerdict, by: By, label: string): void {
  const got = side.reason;
  const where = `${label}: ${by.side} reason`;
  if (by.policy === undefined) {
    assert.equal(got, undefined, `${where}: want none, got ${show(got)}`);
    return;
  }
  assert.ok(got !== undefined, `${where}: want ${by.policy} rule ${by.rule}, got none`);
  if (by.policy.includes('/')) {
    const want = { policy: by.policy, direction: by.side, rule: by.rule, tier: undefined };
    assert.deepEqual({ policy: got.policy, direction: got.direction, rule: got.rule, tier: got.tier }, want, where);
    return;
  }
  const policy = s.clusterPolicies?.find((p) => p.name === by.policy);
  const rule = policy?.[by.side][by.rule];
  assert.ok(policy !== undefined && rule !== undefined, `row bug: no ${by.side} rule ${by.rule} in ${by.policy}`);
  assert.equal(rule.action, 'Accept', `row bug: ${by.policy} ${by.side}[${by.rule}] cannot allow`);
  const want = {
    policy: cnpId(policy.name),
    direction: by.side,
    tier: policy.tier,
    priority: policy.priority,
    rule: by.rule,
    action: rule.action,
    ruleName: rule.name,
  };
  const { policy: p, direction, tier, priority: prio, rule: index, action: act, ruleName } = got;
  const seen = { policy: p, direction, tier, priority: prio, rule: index, action: act, ruleName };
  assert.deepEqual(seen, want, where);
}

/** Compiles `s` (every pod local) and checks each flow's verdict, and `by` where given. */
export function checkCnpFlows(s: ClusterSnapshot, expects: readonly Expect[], opts: CheckOptions = {}): void {
  const family = opts.family ?? 4;
  const compiler = createCompiler();
  for (const h of opts.history ?? []) compiler.compile(h);
  const model = compiler.compile(s);
  for (const [from, to, what, want, by] of expects) {
    const label = `${from} -> ${to} ${what} (IPv${family})`;
    const got = evaluateFlow(model, flowOf(s, from, to, what, family));
    const sides = `egress ${sideText(got.egress)}, ingress ${sideText(got.ingress)}`;
    assert.equal(got.allowed, want, `${label}: want ${want ? 'allowed' : 'denied'}; ${sides}`);
    if (by !== undefined) checkReason(s, got[by.side], by, label);
  }
}
