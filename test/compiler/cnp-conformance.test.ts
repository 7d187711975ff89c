/**
 * The ClusterNetworkPolicy conformance suite of sigs.k8s.io/network-policy-api
 * v0.3.0 (conformance/tests/*.go with the manifests of conformance/base/), one
 * row per `t.Run` step, named `<ShortName>: <step>`. A step that changes a
 * label and probes again becomes one row per probe phase; the rows after a
 * change compile through one incremental compiler that saw the earlier phases
 * (`before`), as the cluster under test did.
 *
 * The cluster is the suite's base/manifests.yaml: namespaces
 * network-policy-conformance-{gryffindor,slytherin,hufflepuff,ravenclaw}
 * (label `conformance-house: <house>`) with StatefulSet pods harry-potter-0/1,
 * draco-malfoy-0/1, cedric-diggory-0/1, luna-lovegood-0/1 (labels
 * `conformance-house` and `statefulset.kubernetes.io/pod-name`, container
 * ports web 80/TCP and dns 53/UDP), and host-network centaur-0/1 in
 * network-policy-conformance-forbidden-forrest on the node addresses.
 *
 * Steps inside one Go test run in order against the same objects, so each
 * rule swap applies on top of the ones before it; the manifests below are
 * the files as applied, and each row lists the mutations in effect.
 */
import { test } from 'node:test';
import type { ClusterNetworkPolicy, ClusterSnapshot, NetworkPolicy } from '../../src/model/k8s.js';
import {
  cluster,
  egress,
  hostNetwork,
  ingress,
  ns,
  nsPeer,
  onNode,
  pod,
  policy,
  ports,
  rule,
  sel,
} from './builders.js';
import {
  accept,
  action,
  admin,
  ALL,
  baseline,
  checkCnpFlows,
  cnpEgress,
  cnpIngress,
  deny,
  editEgress,
  editIngress,
  egressBy,
  ingressBy,
  labelPod,
  namedPort,
  pass,
  peerNets,
  peerNodes,
  peerNs,
  peerPods,
  prependEgress,
  priority,
  protocols,
  relabelNs,
  sctp,
  subjectNs,
  subjectPods,
  swapEgress,
  swapIngress,
  tcp,
  tweak,
  udp,
  undecided,
  withCnps,
  type By,
  type Edit,
  type Expect,
} from './cnp-builders.js';

// The cluster of base/manifests.yaml.

const HOUSES = [
  ['gryffindor', 'harry-potter'],
  ['slytherin', 'draco-malfoy'],
  ['hufflepuff', 'cedric-diggory'],
  ['ravenclaw', 'luna-lovegood'],
] as const;
type House = (typeof HOUSES)[number][0];

const nsOf = (house: string): string => `network-policy-conformance-${house}`;
/** `s.HostNetworkPorts`: the suite's default range 34345-34352. */
const HOST_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351, 34352] as const;
const hostPort = (i: number): number => HOST_PORTS[i] ?? 0;

function conformanceCluster(): ClusterSnapshot {
  const houses = HOUSES.map(([house]) => ns(nsOf(house), { 'conformance-house': house }));
  const pods = HOUSES.flatMap(([house, person], h) =>
    [0, 1].map((i) =>
      pod(
        `${nsOf(house)}/${person}-${i}`,
        `10.244.${h + 1}.${10 + i}`,
        { 'conformance-house': house, 'statefulset.kubernetes.io/pod-name': `${person}-${i}` },
        ports(['web', 80, 'TCP'], ['dns', 53, 'UDP']),
      ),
    ),
  );
  const forest = nsOf('forbidden-forrest');
  const centaurs = [0, 1].map((i) =>
    pod(
      `${forest}/centaur-${i}`,
      `172.18.0.${2 + i}`,
      { 'conformance-house': 'forbidden-forrest', 'statefulset.kubernetes.io/pod-name': `centaur-${i}` },
      hostNetwork,
      onNode(`node-${i}`),
      ports(
        [`web-${hostPort(0)}`, hostPort(0), 'TCP'],
        [`web-${hostPort(1)}`, hostPort(1), 'TCP'],
        [`dns-${hostPort(2)}`, hostPort(2), 'UDP'],
        [`dns-${hostPort(4)}`, hostPort(4), 'UDP'],
      ),
    ),
  );
  return cluster([...houses, ns(forest, { 'conformance-house': 'forbidden-forrest' })], [...pods, ...centaurs], []);
}

const [H0, H1, D0, D1, C0, C1, L0, L1] = HOUSES.flatMap(([, person]) => [`${person}-0`, `${person}-1`]) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
const CENTAUR1 = 'centaur-1';

// Selectors as the manifests write them.

/** `matchLabels: {conformance-house: <house>}`. */
const house = (h: House) => sel({ 'conformance-house': h });
/** `matchLabels: {kubernetes.io/metadata.name: network-policy-conformance-<house>}`. */
const named = (h: House) => sel({ 'kubernetes.io/metadata.name': nsOf(h) });
/** Peer `namespaces` by namespace name. */
const inNs = (h: House) => peerNs(named(h));
/** Peer `pods` with namespaceSelector and podSelector both `conformance-house`. */
const housePods = (h: House) => peerPods(house(h), house(h));
const podName = (name: string) => sel({ 'statefulset.kubernetes.io/pod-name': name });
const ROLE = 'conformance-role';
const role = (value: string) => sel({ [ROLE]: value });

// base/admin_tier/*.yaml

const adminIngressTcp = admin(
  'ingress-tcp',
  3,
  subjectNs(named('gryffindor')),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    pass('pass-from-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    accept('allow-from-hufflepuff-at-port-80', inNs('hufflepuff'), tcp(80)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const adminIngressUdp = admin(
  'ingress-udp',
  4,
  subjectNs(named('hufflepuff')),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    pass('pass-from-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    accept('allow-from-gryffindor-at-port-53', inNs('gryffindor'), udp(53)),
    deny('deny-from-gryffindor-everything-else', inNs('gryffindor')),
  ),
);

const adminIngressSctp = admin(
  'ingress-sctp',
  5,
  subjectNs(named('ravenclaw')),
  cnpIngress(
    accept('allow-from-gryffindor-everything', inNs('gryffindor')),
    deny('deny-from-gryffindor-everything', inNs('gryffindor')),
    pass('pass-from-gryffindor-everything', inNs('gryffindor')),
    deny('deny-from-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    pass('pass-from-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    accept('allow-from-hufflepuff-at-port-9003', inNs('hufflepuff'), sctp(9003)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const adminEgressTcp = admin(
  'egress-tcp',
  6,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    pass('pass-to-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    accept('allow-to-hufflepuff-at-port-8080', inNs('hufflepuff'), tcp(8080)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const adminEgressUdp = admin(
  'egress-udp',
  7,
  subjectNs(named('hufflepuff')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    pass('pass-to-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    accept('allow-to-gryffindor-at-port-53', inNs('gryffindor'), udp(53)),
    deny('deny-to-gryffindor-everything-else', inNs('gryffindor')),
  ),
);

const adminEgressSctp = admin(
  'egress-sctp',
  8,
  subjectNs(named('ravenclaw')),
  cnpEgress(
    accept('allow-to-gryffindor-everything', inNs('gryffindor')),
    deny('deny-to-gryffindor-everything', inNs('gryffindor')),
    pass('pass-to-gryffindor-everything', inNs('gryffindor')),
    deny('deny-to-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    pass('pass-to-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    accept('allow-to-hufflepuff-at-port-9003', inNs('hufflepuff'), sctp(9003)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const SLY_PORTS = [tcp(80), udp(53), sctp(9003)];
const adminGress = admin(
  'gress-rules',
  15,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-ports-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    pass('pass-to-slytherin-at-port-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    accept('allow-to-hufflepuff-at-ports-8080-5353-9003', inNs('hufflepuff'), tcp(8080), udp(5353), sctp(9003)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    pass('pass-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    pass('pass-from-slytherin-at-port-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    accept('allow-from-hufflepuff-at-port-80-5353-9003', inNs('hufflepuff'), tcp(80), udp(5353), sctp(9003)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const adminInlineCidr = admin(
  'inline-cidr-as-peers-example',
  85,
  subjectPods(house('gryffindor'), house('gryffindor')),
  cnpEgress(
    accept('allow-egress-to-slytherin', housePods('slytherin')),
    deny('deny-egress-to-internet', peerNets('0.0.0.0/0', '::/0')),
  ),
);

/** Inserted at egress index 0 by the inline-CIDR tests: luna-lovegood-0 and cedric-diggory-0 as /32s. */
const allowPodIps = accept('allow-egress-to-specific-podIPs', peerNets('10.244.4.10/32', '10.244.3.10/32'));

const podSelectorRules = (tier: 'Admin' | 'Baseline'): ClusterNetworkPolicy[] => {
  const [make, p1, p2] = tier === 'Admin' ? [admin, 20, 21] : [baseline, 10, 10];
  return [
    make(
      'pod-selector-rules',
      p1,
      subjectPods(ALL, house('gryffindor')),
      cnpEgress(
        accept('allow-to-luna-lovegood-0-tcp-80', peerPods(house('ravenclaw'), podName('luna-lovegood-0')), tcp(80)),
        deny('deny-to-ravenclaw-pods', peerPods(ALL, house('ravenclaw'))),
      ),
      cnpIngress(
        accept('allow-from-draco-malfoy-0', peerPods(house('slytherin'), podName('draco-malfoy-0'))),
        deny('deny-from-slytherin-pods', peerPods(ALL, house('slytherin'))),
        deny('deny-from-blocked-hufflepuff-pods', peerPods(house('hufflepuff'), role('blocked'))),
      ),
    ),
    make(
      'label-selected-subject-rules',
      p2,
      subjectPods(house('ravenclaw'), role('restricted')),
      cnpEgress(deny('deny-to-slytherin', inNs('slytherin'))),
    ),
  ];
};

const portRangeRules = (tier: 'Admin' | 'Baseline'): ClusterNetworkPolicy =>
  (tier === 'Admin' ? admin : baseline)(
    'port-range-rules',
    tier === 'Admin' ? 9 : 10,
    subjectNs(named('gryffindor')),
    cnpEgress(
      accept('allow-to-ravenclaw-tcp-port-range', inNs('ravenclaw'), tcp(80, 8080)),
      accept('allow-to-hufflepuff-udp-port-range', inNs('hufflepuff'), udp(53, 5353)),
      accept('allow-to-slytherin-sctp-port-range', inNs('slytherin'), sctp(9003, 9005)),
      deny('deny-all-egress', peerNs(sel({}, { key: 'conformance-house', operator: 'Exists', values: [] }))),
    ),
    cnpIngress(
      accept('allow-from-ravenclaw-tcp-port-range', inNs('ravenclaw'), tcp(80, 8080)),
      accept('allow-from-hufflepuff-udp-port-range', inNs('hufflepuff'), udp(53, 5353)),
      accept('allow-from-slytherin-sctp-port-range', inNs('slytherin'), sctp(9003, 9005)),
      deny('deny-all-ingress', peerNs(sel({}, { key: 'conformance-house', operator: 'Exists', values: [] }))),
    ),
  );

const gryffindorPods = subjectPods(house('gryffindor'), house('gryffindor'));
const priority50 = admin(
  'priority-50-example',
  50,
  gryffindorPods,
  cnpIngress(deny('deny-all-ingress-from-slytherin', housePods('slytherin'))),
  cnpEgress(deny('deny-all-egress-to-slytherin', housePods('slytherin'))),
);
const priority60 = admin(
  'old-priority-60-new-priority-40-example',
  60,
  gryffindorPods,
  cnpIngress(pass('pass-all-ingress-from-slytherin', housePods('slytherin'))),
  cnpEgress(pass('pass-all-egress-to-slytherin', housePods('slytherin'))),
);
const priorityBaseline = baseline(
  'default',
  10,
  gryffindorPods,
  cnpIngress(accept('allow-all-ingress-from-slytherin', housePods('slytherin'))),
  cnpEgress(accept('allow-all-egress-to-slytherin', housePods('slytherin'))),
);

const samePriority = (tier: 'Admin' | 'Baseline'): ClusterNetworkPolicy[] => {
  const [make, prefix, prio] = tier === 'Admin' ? [admin, '', 15] : [baseline, 'baseline-', 10];
  const pair = (subject: House, peer: House, port: number) =>
    make(
      `${prefix}same-priority-${subject}-${peer}`,
      prio,
      subjectNs(named(subject)),
      cnpIngress(deny(`deny-from-${peer}-at-port-${port}`, inNs(peer), tcp(port))),
      cnpEgress(deny(`deny-to-${peer}-at-port-${port}`, inNs(peer), tcp(port))),
    );
  return [
    pair('gryffindor', 'slytherin', 80),
    pair('gryffindor', 'hufflepuff', 80),
    pair('hufflepuff', 'slytherin', 8080),
  ];
};

const adminNodePeers = admin(
  'node-and-cidr-as-peers-example',
  75,
  gryffindorPods,
  cnpEgress(
    accept(`allow-egress-to-${hostPort(0)}-on-nodes`, peerNodes, tcp(hostPort(0))),
    pass(`pass-egress-to-${hostPort(2)}-on-nodes`, peerNodes, udp(hostPort(2))),
    deny('deny-egress-to-slytherin-and-nodes-and-internet', [
      housePods('slytherin'),
      peerNodes,
      peerNets('0.0.0.0/0', '::/0'),
    ]),
  ),
);

// base/api_integration/standard-anp-np-banp.yaml

const passExample = admin(
  'pass-example',
  10,
  subjectNs(house('gryffindor')),
  cnpIngress(deny('deny-all-ingress-from-slytherin', peerNs(house('slytherin')))),
  cnpEgress(deny('deny-all-egress-to-slytherin', peerNs(house('slytherin')))),
);
const NP_ID = `${nsOf('gryffindor')}/allow-gress-from-to-slytherin-to-gryffindor`;
const allowGressNp = policy(
  NP_ID,
  ingress(rule([nsPeer(house('slytherin'))])),
  egress(rule([nsPeer(house('slytherin'))])),
);
const integrationBaseline = baseline(
  'default',
  10,
  subjectNs(house('gryffindor')),
  cnpIngress(deny('deny-all-ingress-from-slytherin', peerNs(house('slytherin')))),
  cnpEgress(deny('deny-all-egress-to-slytherin', peerNs(house('slytherin')))),
);

// base/baseline_tier/*.yaml

const baselineIngressTcp = baseline(
  'default',
  10,
  subjectNs(named('gryffindor')),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    accept('allow-from-hufflepuff-at-port-80', inNs('hufflepuff'), tcp(80)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const baselineIngressUdp = baseline(
  'default',
  10,
  subjectNs(named('hufflepuff')),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    accept('allow-from-gryffindor-at-port-53', inNs('gryffindor'), udp(53)),
    deny('deny-from-gryffindor-everything-else', inNs('gryffindor')),
  ),
);

const baselineIngressSctp = baseline(
  'default',
  10,
  subjectNs(named('ravenclaw')),
  cnpIngress(
    accept('allow-from-gryffindor-everything', inNs('gryffindor')),
    deny('deny-from-gryffindor-everything', inNs('gryffindor')),
    deny('deny-from-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    accept('allow-from-hufflepuff-at-port-9003', inNs('hufflepuff'), sctp(9003)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const baselineEgressTcp = baseline(
  'default',
  10,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-port-80', inNs('slytherin'), tcp(80)),
    accept('allow-to-hufflepuff-at-port-8080', inNs('hufflepuff'), tcp(8080)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const baselineEgressUdp = baseline(
  'default',
  10,
  subjectNs(named('hufflepuff')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-port-5353', inNs('slytherin'), udp(5353)),
    accept('allow-to-gryffindor-at-port-53', inNs('gryffindor'), udp(53)),
    deny('deny-to-gryffindor-everything-else', inNs('gryffindor')),
  ),
);

const baselineEgressSctp = baseline(
  'default',
  10,
  subjectNs(named('ravenclaw')),
  cnpEgress(
    accept('allow-to-gryffindor-everything', inNs('gryffindor')),
    deny('deny-to-gryffindor-everything', inNs('gryffindor')),
    deny('deny-to-slytherin-at-port-9003', inNs('slytherin'), sctp(9003)),
    accept('allow-to-hufflepuff-at-port-9003', inNs('hufflepuff'), sctp(9003)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const baselineGress = baseline(
  'default',
  10,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept('allow-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-to-slytherin-at-ports-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    accept('allow-to-hufflepuff-at-ports-8080-5353', inNs('hufflepuff'), tcp(8080), udp(5353), sctp(9003)),
    deny('deny-to-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
  cnpIngress(
    accept('allow-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-ravenclaw-everything', inNs('ravenclaw')),
    deny('deny-from-slytherin-at-port-80-53-9003', inNs('slytherin'), ...SLY_PORTS),
    accept('allow-from-hufflepuff-at-port-80-5353-9003', inNs('hufflepuff'), tcp(80), udp(5353), sctp(9003)),
    deny('deny-from-hufflepuff-everything-else', inNs('hufflepuff')),
  ),
);

const baselineInlineCidr = baseline(
  'default',
  10,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept('allow-egress-to-slytherin', housePods('slytherin')),
    deny('deny-egress-to-internet', peerNets('0.0.0.0/0', '::/0')),
  ),
);

const baselineNodePeers = baseline(
  'default',
  10,
  subjectNs(named('gryffindor')),
  cnpEgress(
    accept(`allow-egress-to-${hostPort(0)}-on-nodes`, peerNodes, tcp(hostPort(0), hostPort(1))),
    deny('deny-egress-to-nodes-and-internet', [peerNodes, peerNets('0.0.0.0/0', '::/0')]),
  ),
);

// Edits the tests make to the cluster.

const renameSlytherin: Edit = relabelNs(nsOf('slytherin'), { 'conformance-house': 'denied-namespace-label' });
const noEdit: Edit = (s) => s;
const blocked = (p: string): Edit => labelPod(p, ROLE, 'blocked');
const restricted = (p: string): Edit => labelPod(p, ROLE, 'restricted');

/** TCP/80, UDP/53 and SCTP/9003 from one client to one server, all with the same verdict. */
const threeProtocols = (from: string, to: string, allowed: boolean, by?: By): Expect[] =>
  ['TCP/80', 'UDP/53', 'SCTP/9003'].map(
    (what): Expect => (by === undefined ? [from, to, what, allowed] : [from, to, what, allowed, by]),
  );

interface Row {
  readonly name: string;
  readonly cnps: readonly ClusterNetworkPolicy[];
  readonly nps?: readonly NetworkPolicy[];
  readonly edit?: Edit;
  /** The earlier phases of the same step, compiled first by the same compiler. */
  readonly before?: readonly Edit[];
  /** Where sluice's documented semantics part from the upstream expectation, which the row then does not assert. */
  readonly divergence?: string;
  readonly expect: readonly Expect[];
}

const T = 'TCP';
const ordering = (verb: string, proto: string) =>
  `Should support an '${verb}' policy for ${proto} protocol; ensure rule ordering is respected`;
const atPort = (verb: string, proto: string) =>
  `Should support ${verb.startsWith('a') ? 'an' : 'a'} '${verb}' policy for ${proto} protocol at the specified port`;

const adminLadderRows: Row[] = [
  // admin-network-policy-standard-ingress-tcp-rules.go
  {
    name: `CNPAdminTierIngressTCP: ${ordering('allow-ingress', T)}`,
    cnps: [adminIngressTcp],
    expect: [
      [L0, H0, 'TCP/80', true, ingressBy('ingress-tcp', 0)],
      [L1, H0, 'TCP/8080', true, ingressBy('ingress-tcp', 0)],
    ],
  },
  {
    name: `CNPAdminTierIngressTCP: ${atPort('allow-ingress', T)}`,
    cnps: [adminIngressTcp],
    expect: [
      [C0, H1, 'TCP/80', true, ingressBy('ingress-tcp', 5)],
      [C1, H1, 'TCP/8080', false],
    ],
  },
  {
    name: 'CNPAdminTierIngressTCP: Should not affect egress traffic when only ingress rules are specified',
    cnps: [adminIngressTcp],
    expect: [
      [H0, L0, 'TCP/80', true, undecided('egress')],
      [H1, D0, 'TCP/80', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierIngressTCP: ${ordering('deny-ingress', T)} (ingress 0<->1 swapped)`,
    cnps: [tweak(adminIngressTcp, swapIngress(0, 1))],
    expect: [
      [L0, H1, 'TCP/80', false],
      [L1, H1, 'TCP/8080', false],
    ],
  },
  {
    name: `CNPAdminTierIngressTCP: ${atPort('deny-ingress', T)} (0<->1 swapped)`,
    cnps: [tweak(adminIngressTcp, swapIngress(0, 1))],
    expect: [
      [D0, H0, 'TCP/80', false],
      [D1, H0, 'TCP/8080', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressTCP: ${ordering('pass-ingress', T)} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminIngressTcp, swapIngress(0, 1), swapIngress(0, 2))],
    expect: [
      [L0, H0, 'TCP/80', true, undecided('ingress')],
      [L1, H0, 'TCP/8080', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressTCP: ${atPort('pass-ingress', T)} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminIngressTcp, swapIngress(0, 1), swapIngress(0, 2), swapIngress(3, 4))],
    expect: [
      [D0, H0, 'TCP/80', true, undecided('ingress')],
      [D1, H0, 'TCP/8080', true, undecided('ingress')],
    ],
  },
  // admin-network-policy-standard-ingress-udp-rules.go
  {
    name: `CNPAdminTierIngressUDP: ${ordering('allow-ingress', 'UDP')}`,
    cnps: [adminIngressUdp],
    expect: [
      [L0, C0, 'UDP/53', true, ingressBy('ingress-udp', 0)],
      [L1, C0, 'UDP/5353', true, ingressBy('ingress-udp', 0)],
    ],
  },
  {
    name: `CNPAdminTierIngressUDP: ${atPort('allow-ingress', 'UDP')}`,
    cnps: [adminIngressUdp],
    expect: [
      [H0, C1, 'UDP/53', true, ingressBy('ingress-udp', 5)],
      [H1, C1, 'UDP/5353', false],
    ],
  },
  {
    name: `CNPAdminTierIngressUDP: ${ordering('deny-ingress', 'UDP')} (0<->1 swapped)`,
    cnps: [tweak(adminIngressUdp, swapIngress(0, 1))],
    expect: [
      [L0, C1, 'UDP/53', false],
      [L1, C1, 'UDP/5353', false],
    ],
  },
  {
    name: `CNPAdminTierIngressUDP: ${atPort('deny-ingress', 'UDP')} (0<->1 swapped)`,
    cnps: [tweak(adminIngressUdp, swapIngress(0, 1))],
    expect: [
      [D0, C0, 'UDP/5353', false],
      [D1, C0, 'UDP/53', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressUDP: ${ordering('pass-ingress', 'UDP')} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminIngressUdp, swapIngress(0, 1), swapIngress(0, 2))],
    expect: [
      [L0, C1, 'UDP/5353', true, undecided('ingress')],
      [L1, C1, 'UDP/53', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressUDP: ${atPort('pass-ingress', 'UDP')} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminIngressUdp, swapIngress(0, 1), swapIngress(0, 2), swapIngress(3, 4))],
    expect: [
      [D0, C0, 'UDP/5353', true, undecided('ingress')],
      [D1, C0, 'UDP/53', true, undecided('ingress')],
    ],
  },
  // admin-network-policy-standard-ingress-sctp-rules.go
  {
    name: `CNPAdminTierIngressSCTP: ${ordering('allow-ingress', 'SCTP')}`,
    cnps: [adminIngressSctp],
    expect: [
      [H0, L0, 'SCTP/9003', true, ingressBy('ingress-sctp', 0)],
      [H1, L0, 'SCTP/9005', true, ingressBy('ingress-sctp', 0)],
    ],
  },
  {
    name: `CNPAdminTierIngressSCTP: ${atPort('allow-ingress', 'SCTP')}`,
    cnps: [adminIngressSctp],
    expect: [
      [C0, L1, 'SCTP/9003', true, ingressBy('ingress-sctp', 5)],
      [C1, L1, 'SCTP/9005', false],
    ],
  },
  {
    name: `CNPAdminTierIngressSCTP: ${ordering('deny-ingress', 'SCTP')} (0<->1 swapped)`,
    cnps: [tweak(adminIngressSctp, swapIngress(0, 1))],
    expect: [
      [H0, L1, 'SCTP/9003', false],
      [H1, L1, 'SCTP/9005', false],
    ],
  },
  {
    name: `CNPAdminTierIngressSCTP: ${atPort('deny-ingress', 'SCTP')} (0<->1 swapped)`,
    cnps: [tweak(adminIngressSctp, swapIngress(0, 1))],
    expect: [
      [D0, L0, 'SCTP/9003', false],
      [D1, L0, 'SCTP/9005', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressSCTP: ${ordering('pass-ingress', 'SCTP')} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminIngressSctp, swapIngress(0, 1), swapIngress(0, 2))],
    expect: [
      [H0, L1, 'SCTP/9003', true, undecided('ingress')],
      [H1, L1, 'SCTP/9005', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierIngressSCTP: ${atPort('pass-ingress', 'SCTP')} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminIngressSctp, swapIngress(0, 1), swapIngress(0, 2), swapIngress(3, 4))],
    expect: [
      [D0, L0, 'SCTP/9003', true, undecided('ingress')],
      [D1, L0, 'SCTP/9005', true, undecided('ingress')],
    ],
  },
  // admin-network-policy-standard-egress-tcp-rules.go
  {
    name: `CNPAdminTierEgressTCP: ${ordering('allow-egress', T)}`,
    cnps: [adminEgressTcp],
    expect: [
      [H0, L0, 'TCP/80', true, egressBy('egress-tcp', 0)],
      [H1, L0, 'TCP/8080', true, egressBy('egress-tcp', 0)],
    ],
  },
  {
    name: `CNPAdminTierEgressTCP: ${atPort('allow-egress', T)}`,
    cnps: [adminEgressTcp],
    expect: [
      [H0, C1, 'TCP/8080', true, egressBy('egress-tcp', 5)],
      [H1, C1, 'TCP/80', false],
    ],
  },
  {
    name: 'CNPAdminTierEgressTCP: Should not affect ingress traffic when only egress rules are specified',
    cnps: [adminEgressTcp],
    expect: [
      [L0, H0, 'TCP/80', true, undecided('ingress')],
      [D0, H1, 'TCP/80', true, undecided('ingress')],
    ],
  },
  {
    name: `CNPAdminTierEgressTCP: ${ordering('deny-egress', T)} (egress 0<->1 swapped)`,
    cnps: [tweak(adminEgressTcp, swapEgress(0, 1))],
    expect: [
      [H0, L1, 'TCP/80', false],
      [H1, L1, 'TCP/8080', false],
    ],
  },
  {
    name: `CNPAdminTierEgressTCP: ${atPort('deny-egress', T)} (0<->1 swapped)`,
    cnps: [tweak(adminEgressTcp, swapEgress(0, 1))],
    expect: [
      [H0, D0, 'TCP/80', false],
      [H1, D0, 'TCP/8080', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressTCP: ${ordering('pass-egress', T)} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminEgressTcp, swapEgress(0, 1), swapEgress(0, 2))],
    expect: [
      [H0, L0, 'TCP/80', true, undecided('egress')],
      [H1, L0, 'TCP/8080', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressTCP: ${atPort('pass-egress', T)} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminEgressTcp, swapEgress(0, 1), swapEgress(0, 2), swapEgress(3, 4))],
    expect: [
      [H0, D0, 'TCP/80', true, undecided('egress')],
      [H1, D0, 'TCP/8080', true, undecided('egress')],
    ],
  },
  // admin-network-policy-standard-egress-udp-rules.go
  {
    name: `CNPAdminTierEgressUDP: ${ordering('allow-egress', 'UDP')}`,
    cnps: [adminEgressUdp],
    expect: [
      [C0, L0, 'UDP/53', true, egressBy('egress-udp', 0)],
      [C1, L0, 'UDP/5353', true, egressBy('egress-udp', 0)],
    ],
  },
  {
    name: `CNPAdminTierEgressUDP: ${atPort('allow-egress', 'UDP')}`,
    cnps: [adminEgressUdp],
    expect: [
      [C0, H1, 'UDP/53', true, egressBy('egress-udp', 5)],
      [C1, H1, 'UDP/5353', false],
    ],
  },
  {
    name: `CNPAdminTierEgressUDP: ${ordering('deny-egress', 'UDP')} (0<->1 swapped)`,
    cnps: [tweak(adminEgressUdp, swapEgress(0, 1))],
    expect: [
      [C0, L1, 'UDP/53', false],
      [C1, L1, 'UDP/5353', false],
    ],
  },
  {
    name: `CNPAdminTierEgressUDP: ${atPort('deny-egress', 'UDP')} (0<->1 swapped)`,
    cnps: [tweak(adminEgressUdp, swapEgress(0, 1))],
    expect: [
      [C0, D0, 'UDP/5353', false],
      [C1, D0, 'UDP/53', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressUDP: ${ordering('pass-egress', 'UDP')} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminEgressUdp, swapEgress(0, 1), swapEgress(0, 2))],
    expect: [
      [C0, L1, 'UDP/5353', true, undecided('egress')],
      [C1, L1, 'UDP/53', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressUDP: ${atPort('pass-egress', 'UDP')} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminEgressUdp, swapEgress(0, 1), swapEgress(0, 2), swapEgress(3, 4))],
    expect: [
      [C0, D0, 'UDP/5353', true, undecided('egress')],
      [C1, D0, 'UDP/53', true, undecided('egress')],
    ],
  },
  // admin-network-policy-standard-egress-sctp-rules.go
  {
    name: `CNPAdminTierEgressSCTP: ${ordering('allow-egress', 'SCTP')}`,
    cnps: [adminEgressSctp],
    expect: [
      [L0, H0, 'SCTP/9003', true, egressBy('egress-sctp', 0)],
      [L1, H0, 'SCTP/9005', true, egressBy('egress-sctp', 0)],
    ],
  },
  {
    name: `CNPAdminTierEgressSCTP: ${atPort('allow-egress', 'SCTP')}`,
    cnps: [adminEgressSctp],
    expect: [
      [L0, C1, 'SCTP/9003', true, egressBy('egress-sctp', 5)],
      [L1, C1, 'SCTP/9005', false],
    ],
  },
  {
    name: `CNPAdminTierEgressSCTP: ${ordering('deny-egress', 'SCTP')} (0<->1 swapped)`,
    cnps: [tweak(adminEgressSctp, swapEgress(0, 1))],
    expect: [
      [L0, H1, 'SCTP/9003', false],
      [L1, H1, 'SCTP/9005', false],
    ],
  },
  {
    name: `CNPAdminTierEgressSCTP: ${atPort('deny-egress', 'SCTP')} (0<->1 swapped)`,
    cnps: [tweak(adminEgressSctp, swapEgress(0, 1))],
    expect: [
      [L0, D0, 'SCTP/9003', false],
      [L1, D0, 'SCTP/9005', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressSCTP: ${ordering('pass-egress', 'SCTP')} (0<->1, 0<->2 swapped)`,
    cnps: [tweak(adminEgressSctp, swapEgress(0, 1), swapEgress(0, 2))],
    expect: [
      [L0, H1, 'SCTP/9003', true, undecided('egress')],
      [L1, H1, 'SCTP/9005', true, undecided('egress')],
    ],
  },
  {
    name: `CNPAdminTierEgressSCTP: ${atPort('pass-egress', 'SCTP')} (0<->1, 0<->2, 3<->4 swapped)`,
    cnps: [tweak(adminEgressSctp, swapEgress(0, 1), swapEgress(0, 2), swapEgress(3, 4))],
    expect: [
      [L0, D0, 'SCTP/9003', true, undecided('egress')],
      [L1, D0, 'SCTP/9005', true, undecided('egress')],
    ],
  },
];

const gress = (verb: string) => `Should support an '${verb}' policy across different protocols`;
const gressPorts = (verb: string) =>
  `Should support ${verb.startsWith('a') ? 'an' : 'a'} '${verb}' policy across different protocols at the specified ports`;

/** Rows of CNPAdminTierGress and CNPBaselineTierGress: the same probes, the Baseline rules without the Pass ones. */
function gressRows(test: string, policy: ClusterNetworkPolicy, tier: 'Admin' | 'Baseline'): Row[] {
  const name = policy.name;
  const some = tier === 'Admin' ? 5 : 3;
  const denySwap = tweak(policy, swapEgress(0, 1), swapIngress(0, 1));
  const rows: Row[] = [
    {
      name: `${test}: ${gress('allow-gress')}`,
      cnps: [policy],
      expect: [
        [H0, L0, 'TCP/80', true, egressBy(name, 0)],
        [H1, L0, 'UDP/53', true, egressBy(name, 0)],
        [H0, L0, 'SCTP/9003', true, egressBy(name, 0)],
        [L0, H0, 'TCP/80', true, ingressBy(name, 0)],
        [L1, H0, 'UDP/53', true, ingressBy(name, 0)],
        [L1, H0, 'SCTP/9003', true, ingressBy(name, 0)],
      ],
    },
    {
      name: `${test}: ${gressPorts('allow-gress')}`,
      cnps: [policy],
      expect: [
        [H0, C1, 'TCP/8080', true, egressBy(name, some)],
        [H1, C1, 'TCP/80', false],
        [H0, C1, 'UDP/5353', true, egressBy(name, some)],
        [H1, C1, 'UDP/53', false],
        [H0, C1, 'SCTP/9003', true, egressBy(name, some)],
        [H1, C1, 'SCTP/9005', false],
        [C0, H1, 'TCP/80', true, ingressBy(name, some)],
        [C1, H1, 'TCP/8080', false],
        [C0, H1, 'UDP/5353', true, ingressBy(name, some)],
        [C1, H1, 'UDP/53', false],
        [C0, H1, 'SCTP/9003', true, ingressBy(name, some)],
        [C1, H1, 'SCTP/9005', false],
      ],
    },
    {
      name: `${test}: ${gress('deny-gress')} (egress and ingress 0<->1 swapped)`,
      cnps: [denySwap],
      expect: [
        [H0, L1, 'TCP/80', false],
        [H1, L1, 'UDP/53', false],
        [H0, L1, 'SCTP/9003', false],
        [L0, H1, 'TCP/80', false],
        [L1, H1, 'UDP/53', false],
        [L1, H1, 'SCTP/9003', false],
      ],
    },
    {
      name: `${test}: ${gressPorts('deny-gress')} (0<->1 swapped)`,
      cnps: [denySwap],
      expect: [
        [H0, D0, 'TCP/80', false],
        [H1, D0, 'TCP/8080', true, undecided('egress')],
        [H0, D0, 'UDP/53', false],
        [H1, D0, 'UDP/5353', true, undecided('egress')],
        [H0, D0, 'SCTP/9003', false],
        [H1, D0, 'SCTP/9005', true, undecided('egress')],
        [D0, H0, 'TCP/80', false],
        [D1, H0, 'TCP/8080', true, undecided('ingress')],
        [D0, H0, 'UDP/53', false],
        [D1, H0, 'UDP/5353', true, undecided('ingress')],
        [D0, H0, 'SCTP/9003', false],
        [D1, H0, 'SCTP/9005', true, undecided('ingress')],
      ],
    },
  ];
  if (tier === 'Baseline') return rows;
  const passSwap = tweak(denySwap, swapEgress(0, 2), swapIngress(0, 2));
  return [
    ...rows,
    {
      name: `${test}: ${gress('pass-gress')} (0<->1, 0<->2 swapped)`,
      cnps: [passSwap],
      expect: [
        [H0, L0, 'TCP/80', true, undecided('egress')],
        [H0, L0, 'UDP/5353', true, undecided('egress')],
        [H0, L0, 'SCTP/9003', true, undecided('egress')],
        [L0, H0, 'TCP/80', true, undecided('ingress')],
        [L1, H0, 'UDP/53', true, undecided('ingress')],
        [L1, H0, 'SCTP/9003', true, undecided('ingress')],
      ],
    },
    {
      name: `${test}: ${gressPorts('pass-gress')} (0<->1, 0<->2, 3<->4 swapped)`,
      cnps: [tweak(passSwap, swapEgress(3, 4), swapIngress(3, 4))],
      expect: [
        [H0, D0, 'TCP/80', true, undecided('egress')],
        [H1, D0, 'TCP/8080', true, undecided('egress')],
        [H0, D0, 'UDP/53', true, undecided('egress')],
        [H1, D0, 'UDP/5353', true, undecided('egress')],
        [H0, D0, 'SCTP/9003', true, undecided('egress')],
        [H1, D0, 'SCTP/9005', true, undecided('egress')],
        [D0, H0, 'TCP/80', true, undecided('ingress')],
        [D1, H0, 'TCP/8080', true, undecided('ingress')],
        [D0, H0, 'UDP/53', true, undecided('ingress')],
        [D1, H0, 'UDP/5353', true, undecided('ingress')],
        [D0, H0, 'SCTP/9003', true, undecided('ingress')],
        [D1, H0, 'SCTP/9005', true, undecided('ingress')],
      ],
    },
  ];
}

/** Rows of CNPAdminTierEgressInlineCIDRPeers and CNPBaselineTierEgressInlineCIDRPeers. */
function inlineCidrRows(test: string, policy: ClusterNetworkPolicy): Row[] {
  const name = policy.name;
  const step = "Should support a 'deny-egress' rule policy for egress-cidr-peer";
  return [
    {
      name: `${test}: ${step}`,
      cnps: [policy],
      expect: [
        ...threeProtocols(H1, L0, false),
        ...threeProtocols(H1, C0, false),
        ...threeProtocols(H1, D0, true, egressBy(name, 0)),
      ],
    },
    {
      name: `${test}: ${step}, slytherin relabelled conformance-house=denied-namespace-label`,
      cnps: [policy],
      edit: renameSlytherin,
      expect: threeProtocols(H1, D0, false),
    },
    {
      name: `${test}: ${step}, slytherin label restored`,
      cnps: [policy],
      before: [noEdit, renameSlytherin],
      expect: threeProtocols(H1, D0, true, egressBy(name, 0)),
    },
    {
      name: `${test}: Should support an 'allow-egress' rule policy for egress-cidr-peer (pod /32s prepended)`,
      cnps: [tweak(policy, prependEgress(allowPodIps))],
      expect: [
        ...threeProtocols(H1, L0, true, egressBy(name, 0)),
        ...threeProtocols(H1, C0, true, egressBy(name, 0)),
        ...threeProtocols(H1, L1, false),
        ...threeProtocols(H1, C1, false),
      ],
    },
  ];
}

/** Rows of CNPAdminTierPodSelector and CNPBaselineTierPodSelector. */
function podSelectorRows(test: string, tier: 'Admin' | 'Baseline'): Row[] {
  const cnps = podSelectorRules(tier);
  const peers = 'Should support pod selectors in ingress peers';
  const subject = 'Should support pod selectors in the subject';
  return [
    {
      name: `${test}: Should support pod selectors in egress peers`,
      cnps,
      expect: [
        [H0, L0, 'TCP/8080', false],
        [H0, L0, 'TCP/80', true, egressBy('pod-selector-rules', 0)],
        [H1, L1, 'TCP/80', false],
      ],
    },
    {
      name: `${test}: ${peers}`,
      cnps,
      expect: [
        [D1, H1, 'TCP/80', false],
        [D0, H0, 'TCP/80', true, ingressBy('pod-selector-rules', 0)],
      ],
    },
    {
      name: `${test}: ${peers}, cedric-diggory-0 labelled blocked`,
      cnps,
      edit: blocked(C0),
      before: [noEdit],
      expect: [
        [C0, H0, 'TCP/80', false],
        [C1, H0, 'TCP/80', true, undecided('ingress')],
      ],
    },
    {
      name: `${test}: ${peers}, label removed again`,
      cnps,
      before: [noEdit, blocked(C0)],
      expect: [[C0, H0, 'TCP/80', true, undecided('ingress')]],
    },
    {
      name: `${test}: ${peers}, cedric-diggory-1 labelled blocked instead`,
      cnps,
      edit: blocked(C1),
      before: [noEdit, blocked(C0), noEdit],
      expect: [[C1, H0, 'TCP/80', false]],
    },
    {
      name: `${test}: ${subject}`,
      cnps,
      expect: [[D0, L1, 'TCP/80', true, undecided('egress')]],
    },
    {
      name: `${test}: ${subject}, luna-lovegood-0 labelled restricted`,
      cnps,
      edit: restricted(L0),
      before: [noEdit],
      expect: [
        [L0, D0, 'TCP/80', false],
        [L1, D0, 'TCP/80', true, undecided('egress')],
      ],
    },
    {
      name: `${test}: ${subject}, label removed again`,
      cnps,
      before: [noEdit, restricted(L0)],
      expect: [[L0, D0, 'TCP/80', true, undecided('egress')]],
    },
    {
      name: `${test}: ${subject}, luna-lovegood-1 labelled restricted instead`,
      cnps,
      edit: restricted(L1),
      before: [noEdit, restricted(L0), noEdit],
      expect: [[L1, D0, 'TCP/80', false]],
    },
  ];
}

/** Rows of CNPAdminTierPortRange and CNPBaselineTierPortRange. */
function portRangeRows(test: string, tier: 'Admin' | 'Baseline'): Row[] {
  const p = portRangeRules(tier);
  const eg = (rule: number) => egressBy(p.name, rule);
  const ing = (rule: number) => ingressBy(p.name, rule);
  return [
    {
      name: `${test}: Should support egress port range rules across different protocols`,
      cnps: [p],
      expect: [
        [H0, L0, 'TCP/80', true, eg(0)],
        [H0, L0, 'TCP/8080', true, eg(0)],
        [H1, L0, 'UDP/53', false],
        [H0, C0, 'UDP/53', true, eg(1)],
        [H0, C0, 'UDP/5353', true, eg(1)],
        [H1, C0, 'TCP/80', false],
        [H0, D0, 'SCTP/9003', true, eg(2)],
        [H0, D0, 'SCTP/9005', true, eg(2)],
        [H1, D0, 'TCP/80', false],
      ],
    },
    {
      name: `${test}: Should support ingress port range rules across different protocols`,
      cnps: [p],
      expect: [
        [L0, H0, 'TCP/80', true, ing(0)],
        [L0, H0, 'TCP/8080', true, ing(0)],
        [L1, H0, 'UDP/53', false],
        [C0, H0, 'UDP/53', true, ing(1)],
        [C0, H0, 'UDP/5353', true, ing(1)],
        [C1, H0, 'TCP/80', false],
        [D0, H0, 'SCTP/9003', true, ing(2)],
        [D0, H0, 'SCTP/9005', true, ing(2)],
        [D1, H0, 'TCP/80', false],
      ],
    },
  ];
}

/** Rows of CNPAdminTierSamePriority (servers *-0) and CNPBaselineTierSamePriority (servers *-1). */
function samePriorityRows(test: string, tier: 'Admin' | 'Baseline'): Row[] {
  const cnps = samePriority(tier);
  const [h, d, c, l] = tier === 'Admin' ? [H0, D0, C0, L0] : [H1, D1, C1, L1];
  return [
    {
      name: `${test}: Should deny traffic in both directions for each same-priority policy`,
      cnps,
      expect: [
        [D0, h, 'TCP/80', false],
        [H0, d, 'TCP/80', false],
        [C0, h, 'TCP/80', false],
        [H1, c, 'TCP/80', false],
        [D1, c, 'TCP/8080', false],
        [C1, d, 'TCP/8080', false],
      ],
    },
    {
      name: `${test}: Should not apply one same-priority policy's rules to another policy's subject`,
      cnps,
      expect: [
        [D0, h, 'TCP/8080', true, undecided('ingress')],
        [H0, d, 'TCP/8080', true, undecided('egress')],
        [D1, c, 'TCP/80', true, undecided('ingress')],
        [C0, d, 'TCP/80', true, undecided('egress')],
      ],
    },
    {
      name: `${test}: Should not affect traffic matching no same-priority policy`,
      cnps,
      expect: [
        [L0, h, 'TCP/80', true, undecided('ingress')],
        [tier === 'Admin' ? H1 : H0, l, 'TCP/80', true, undecided('egress')],
      ],
    },
  ];
}

const priorityRows: Row[] = [
  // admin-network-policy-standard-priority.go
  {
    name: 'CNPAdminTierPriorityField: Should Deny traffic from slytherin to gryffindor respecting admin CNP',
    cnps: [priority50, priority60, priorityBaseline],
    expect: [
      [D0, H0, 'TCP/80', false],
      [D1, H0, 'TCP/8080', false],
    ],
  },
  {
    name: 'CNPAdminTierPriorityField: Should Deny traffic to slytherin from gryffindor respecting admin CNP',
    cnps: [priority50, priority60, priorityBaseline],
    expect: [
      [H0, D0, 'TCP/80', false],
      [H1, D0, 'TCP/8080', false],
    ],
  },
  {
    name: 'CNPAdminTierPriorityField: Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP (priority 60 -> 40)',
    cnps: [priority50, tweak(priority60, priority(40)), priorityBaseline],
    expect: [
      [D0, H0, 'TCP/80', true, ingressBy('default', 0)],
      [D1, H0, 'TCP/8080', true, ingressBy('default', 0)],
      [H0, D0, 'TCP/80', true, egressBy('default', 0)],
      [H1, D0, 'TCP/8080', true, egressBy('default', 0)],
    ],
  },
];

const integration = [passExample, integrationBaseline];
const ingressPass = tweak(passExample, editIngress(0, action('Pass')));
const gressPass = tweak(ingressPass, editEgress(0, action('Pass')));
const integrationRows: Row[] = [
  // admin-network-policy-standard-integration.go
  {
    name: 'CNPAdminTierIntegration: Should Deny traffic from slytherin to gryffindor respecting admin CNP',
    cnps: integration,
    nps: [allowGressNp],
    expect: [
      [D0, H0, 'TCP/80', false],
      [D1, H0, 'TCP/8080', false],
    ],
  },
  {
    name: 'CNPAdminTierIntegration: Should Deny traffic to slytherin from gryffindor respecting admin CNP',
    cnps: integration,
    nps: [allowGressNp],
    expect: [
      [H0, D0, 'TCP/80', false],
      [H1, D0, 'TCP/8080', false],
    ],
  },
  {
    name: "CNPAdminTierIntegration: Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy",
    cnps: [ingressPass, integrationBaseline],
    nps: [allowGressNp],
    expect: [
      [D0, H0, 'TCP/80', true, ingressBy(NP_ID, 0)],
      [D1, H0, 'TCP/8080', true, ingressBy(NP_ID, 0)],
    ],
  },
  {
    name: "CNPAdminTierIntegration: Should support a 'pass-egress' policy for admin CNP and respect the match for network policy",
    cnps: [gressPass, integrationBaseline],
    nps: [allowGressNp],
    expect: [
      [H0, D0, 'TCP/80', true, egressBy(NP_ID, 0)],
      [H1, D0, 'TCP/8080', true, egressBy(NP_ID, 0)],
    ],
  },
  {
    name: "CNPAdminTierIntegration: Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy (NetworkPolicy deleted)",
    cnps: [gressPass, integrationBaseline],
    expect: [
      [D0, H0, 'TCP/80', false],
      [D1, H0, 'TCP/8080', false],
    ],
  },
  {
    name: "CNPAdminTierIntegration: Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy (NetworkPolicy deleted)",
    cnps: [gressPass, integrationBaseline],
    expect: [
      [H0, D0, 'TCP/80', false],
      [H1, D0, 'TCP/8080', false],
    ],
  },
];

const NODES_FAIL_CLOSED =
  'sluice does not enforce `nodes` peers: the Accept rule matches no traffic and the Deny rule after it denies all traffic, so the node port is denied (upstream: allowed)';
const NODES_PASS_FAIL_CLOSED =
  'sluice does not enforce `nodes` peers: the Pass rule fails closed as "a \'Deny all\' rule", so the node port is denied (upstream: passed, then allowed)';

const experimentalRows: Row[] = [
  // admin-network-policy-experimental-egress-rules.go
  {
    name: "CNPAdminTierEgressNamedPort: Should support an 'allow-egress' policy for named port (egress 5 -> destinationNamedPort web)",
    cnps: [tweak(adminEgressTcp, editEgress(5, protocols(namedPort('web'))))],
    expect: [
      [H0, C1, 'TCP/80', true, egressBy('egress-tcp', 5)],
      [H1, C1, 'TCP/8080', false],
    ],
  },
  {
    name: "CNPAdminTierEgressNodePeers: Should support an 'allow-egress' rule policy for egress-node-peer",
    cnps: [adminNodePeers],
    divergence: NODES_FAIL_CLOSED,
    expect: [[H1, CENTAUR1, `TCP/${hostPort(0)}`, false]],
  },
  {
    name: "CNPAdminTierEgressNodePeers: Should support a 'pass-egress' rule policy for egress-node-peer",
    cnps: [adminNodePeers],
    divergence: NODES_PASS_FAIL_CLOSED,
    expect: [[H1, CENTAUR1, `UDP/${hostPort(2)}`, false]],
  },
  {
    name: "CNPAdminTierEgressNodePeers: Should support a 'deny-egress' rule policy for egress-node-peer",
    cnps: [adminNodePeers],
    expect: [
      [H1, CENTAUR1, `TCP/${hostPort(1)}`, false],
      [H1, CENTAUR1, `UDP/${hostPort(4)}`, false],
      [H1, CENTAUR1, `SCTP/${hostPort(6)}`, false],
    ],
  },
  // admin-network-policy-experimental-ingress-rules.go
  {
    name: "CNPAdminTierIngressNamedPort: Should support an 'allow-ingress' policy for named port (ingress 5 -> destinationNamedPort dns)",
    cnps: [tweak(adminIngressUdp, editIngress(5, protocols(namedPort('dns'))))],
    expect: [
      [H0, C1, 'UDP/53', true, ingressBy('ingress-udp', 5)],
      [H1, C1, 'UDP/5353', false],
    ],
  },
  // baseline-admin-network-policy-experimental-egress-rules.go
  {
    name: "CNPBaselineTierEgressNamedPort: Should support an 'allow-egress' policy for named port (egress 3 -> destinationNamedPort dns)",
    cnps: [tweak(baselineEgressUdp, editEgress(3, protocols(namedPort('dns'))))],
    expect: [
      [C0, H1, 'UDP/53', true, egressBy('default', 3)],
      [C1, H1, 'UDP/5353', false],
    ],
  },
  {
    name: "CNPBaselineTierEgressNodePeers: Should support an 'allow-egress' rule policy for egress-node-peer",
    cnps: [baselineNodePeers],
    divergence: NODES_FAIL_CLOSED,
    expect: [
      [H0, CENTAUR1, `TCP/${hostPort(0)}`, false],
      [H1, CENTAUR1, `TCP/${hostPort(1)}`, false],
    ],
  },
  {
    name: "CNPBaselineTierEgressNodePeers: Should support a 'deny-egress' rule policy for egress-node-peer",
    cnps: [baselineNodePeers],
    expect: [
      [H1, CENTAUR1, `UDP/${hostPort(4)}`, false],
      [H1, CENTAUR1, `SCTP/${hostPort(6)}`, false],
    ],
  },
  // baseline-admin-network-policy-experimental-ingress-rules.go
  {
    name: "CNPBaselineTierIngressNamedPort: Should support an 'allow-ingress' policy for named port (ingress 3 -> destinationNamedPort web)",
    cnps: [tweak(baselineIngressTcp, editIngress(3, protocols(namedPort('web'))))],
    expect: [
      [C0, H1, 'TCP/80', true, ingressBy('default', 3)],
      [C1, H1, 'TCP/8080', false],
    ],
  },
];

/** The Baseline protocol tests: the Admin ladders without Pass, so "at the specified port" is rule 3. */
function baselineLadderRows(
  test: string,
  p: ClusterNetworkPolicy,
  dir: 'ingress' | 'egress',
  proto: string,
  flows: {
    readonly all: readonly [Expect, Expect];
    readonly port: readonly [Expect, Expect];
    readonly unaffected?: readonly [Expect, Expect];
    readonly swapped: readonly [Expect, Expect];
    readonly denyPort: readonly [Expect, Expect];
  },
): Row[] {
  const swapped = tweak(p, dir === 'ingress' ? swapIngress(0, 1) : swapEgress(0, 1));
  const other = dir === 'ingress' ? 'egress' : 'ingress';
  const rows: Row[] = [
    { name: `${test}: ${ordering(`allow-${dir}`, proto)}`, cnps: [p], expect: flows.all },
    { name: `${test}: ${atPort(`allow-${dir}`, proto)}`, cnps: [p], expect: flows.port },
  ];
  if (flows.unaffected !== undefined) {
    const name = `${test}: Should not affect ${other} traffic when only ${dir} rules are specified`;
    rows.push({ name, cnps: [p], expect: flows.unaffected });
  }
  rows.push(
    { name: `${test}: ${ordering(`deny-${dir}`, proto)} (0<->1 swapped)`, cnps: [swapped], expect: flows.swapped },
    { name: `${test}: ${atPort(`deny-${dir}`, proto)} (0<->1 swapped)`, cnps: [swapped], expect: flows.denyPort },
  );
  return rows;
}

const baselineRows: Row[] = [
  // baseline-admin-network-policy-standard-ingress-tcp-rules.go
  ...baselineLadderRows('CNPBaselineTierIngressTCP', baselineIngressTcp, 'ingress', T, {
    all: [
      [L0, H0, 'TCP/80', true, ingressBy('default', 0)],
      [L1, H0, 'TCP/8080', true, ingressBy('default', 0)],
    ],
    port: [
      [C0, H1, 'TCP/80', true, ingressBy('default', 3)],
      [C1, H1, 'TCP/8080', false],
    ],
    unaffected: [
      [H0, L0, 'TCP/80', true, undecided('egress')],
      [H1, D0, 'TCP/80', true, undecided('egress')],
    ],
    swapped: [
      [L0, H1, 'TCP/80', false],
      [L1, H1, 'TCP/8080', false],
    ],
    denyPort: [
      [D0, H0, 'TCP/80', false],
      [D1, H0, 'TCP/8080', true, undecided('ingress')],
    ],
  }),
  // baseline-admin-network-policy-standard-ingress-udp-rules.go
  ...baselineLadderRows('CNPBaselineTierIngressUDP', baselineIngressUdp, 'ingress', 'UDP', {
    all: [
      [L0, C0, 'UDP/53', true, ingressBy('default', 0)],
      [L1, C0, 'UDP/5353', true, ingressBy('default', 0)],
    ],
    port: [
      [H0, C1, 'UDP/53', true, ingressBy('default', 3)],
      [H1, C1, 'UDP/5353', false],
    ],
    swapped: [
      [L0, C1, 'UDP/53', false],
      [L1, C1, 'UDP/5353', false],
    ],
    denyPort: [
      [D0, C0, 'UDP/5353', false],
      [D1, C0, 'UDP/53', true, undecided('ingress')],
    ],
  }),
  // baseline-admin-network-policy-standard-ingress-sctp-rules.go
  ...baselineLadderRows('CNPBaselineTierIngressSCTP', baselineIngressSctp, 'ingress', 'SCTP', {
    all: [
      [H0, L0, 'SCTP/9003', true, ingressBy('default', 0)],
      [H1, L0, 'SCTP/9005', true, ingressBy('default', 0)],
    ],
    port: [
      [C0, L1, 'SCTP/9003', true, ingressBy('default', 3)],
      [C1, L1, 'SCTP/9005', false],
    ],
    swapped: [
      [H0, L1, 'SCTP/9003', false],
      [H1, L1, 'SCTP/9005', false],
    ],
    denyPort: [
      [D0, L0, 'SCTP/9003', false],
      [D1, L0, 'SCTP/9005', true, undecided('ingress')],
    ],
  }),
  // baseline-admin-network-policy-standard-egress-tcp-rules.go
  ...baselineLadderRows('CNPBaselineTierEgressTCP', baselineEgressTcp, 'egress', T, {
    all: [
      [H0, L0, 'TCP/80', true, egressBy('default', 0)],
      [H1, L0, 'TCP/8080', true, egressBy('default', 0)],
    ],
    port: [
      [H0, C1, 'TCP/8080', true, egressBy('default', 3)],
      [H1, C1, 'TCP/80', false],
    ],
    unaffected: [
      [L0, H0, 'TCP/80', true, undecided('ingress')],
      [D0, H1, 'TCP/80', true, undecided('ingress')],
    ],
    swapped: [
      [H0, L1, 'TCP/80', false],
      [H1, L1, 'TCP/8080', false],
    ],
    denyPort: [
      [H0, D0, 'TCP/80', false],
      [H1, D0, 'TCP/8080', true, undecided('egress')],
    ],
  }),
  // baseline-admin-network-policy-standard-egress-udp-rules.go
  ...baselineLadderRows('CNPBaselineTierEgressUDP', baselineEgressUdp, 'egress', 'UDP', {
    all: [
      [C0, L0, 'UDP/53', true, egressBy('default', 0)],
      [C1, L0, 'UDP/5353', true, egressBy('default', 0)],
    ],
    port: [
      [C0, H1, 'UDP/53', true, egressBy('default', 3)],
      [C1, H1, 'UDP/5353', false],
    ],
    swapped: [
      [C0, L1, 'UDP/53', false],
      [C1, L1, 'UDP/5353', false],
    ],
    denyPort: [
      [C0, D0, 'UDP/5353', false],
      [C1, D0, 'UDP/53', true, undecided('egress')],
    ],
  }),
  // baseline-admin-network-policy-standard-egress-sctp-rules.go
  ...baselineLadderRows('CNPBaselineTierEgressSCTP', baselineEgressSctp, 'egress', 'SCTP', {
    all: [
      [L0, H0, 'SCTP/9003', true, egressBy('default', 0)],
      [L1, H0, 'SCTP/9005', true, egressBy('default', 0)],
    ],
    port: [
      [L0, C1, 'SCTP/9003', true, egressBy('default', 3)],
      [L1, C1, 'SCTP/9005', false],
    ],
    swapped: [
      [L0, H1, 'SCTP/9003', false],
      [L1, H1, 'SCTP/9005', false],
    ],
    denyPort: [
      [L0, D0, 'SCTP/9003', false],
      [L1, D0, 'SCTP/9005', true, undecided('egress')],
    ],
  }),
];

/** Rows without ClusterNetworkPolicies: the cluster shape and the NetworkPolicy tier as the compiler has always judged them. */
const controlRows: Row[] = [
  {
    name: 'control: the conformance cluster without policies allows everything',
    cnps: [],
    expect: [
      [H0, L0, 'TCP/80', true, undecided('egress')],
      [L1, H1, 'UDP/53', true, undecided('ingress')],
      [D0, C1, 'SCTP/9003', true, undecided('ingress')],
      [C0, D1, 'ICMP', true, undecided('egress')],
      [H1, CENTAUR1, `TCP/${hostPort(0)}`, true, undecided('egress')],
    ],
  },
  {
    name: "control: CNPAdminTierIntegration's NetworkPolicy alone isolates gryffindor both ways",
    cnps: [],
    nps: [allowGressNp],
    expect: [
      [D0, H0, 'TCP/80', true, ingressBy(NP_ID, 0)],
      [H1, D1, 'TCP/8080', true, egressBy(NP_ID, 0)],
      [L0, H0, 'TCP/80', false],
      [H0, L0, 'TCP/80', false],
      [L0, C0, 'TCP/80', true, undecided('ingress')],
    ],
  },
];

const cases: Row[] = [
  ...adminLadderRows,
  ...gressRows('CNPAdminTierGress', adminGress, 'Admin'),
  ...inlineCidrRows('CNPAdminTierEgressInlineCIDRPeers', adminInlineCidr),
  ...podSelectorRows('CNPAdminTierPodSelector', 'Admin'),
  ...portRangeRows('CNPAdminTierPortRange', 'Admin'),
  ...priorityRows,
  ...samePriorityRows('CNPAdminTierSamePriority', 'Admin'),
  ...integrationRows,
  ...experimentalRows,
  ...baselineRows,
  ...gressRows('CNPBaselineTierGress', baselineGress, 'Baseline'),
  ...inlineCidrRows('CNPBaselineTierEgressInlineCIDRPeers', baselineInlineCidr),
  ...podSelectorRows('CNPBaselineTierPodSelector', 'Baseline'),
  ...portRangeRows('CNPBaselineTierPortRange', 'Baseline'),
  ...samePriorityRows('CNPBaselineTierSamePriority', 'Baseline'),
  ...controlRows,
];

const snapshotOf = (c: Row, edit: Edit = noEdit): ClusterSnapshot =>
  edit(withCnps({ ...conformanceCluster(), policies: [...(c.nps ?? [])] }, c.cnps));

for (const c of cases) {
  const name = c.divergence === undefined ? c.name : `${c.name} [differs from upstream: ${c.divergence}]`;
  test(name, () => {
    checkCnpFlows(snapshotOf(c, c.edit), c.expect, { history: (c.before ?? []).map((e) => snapshotOf(c, e)) });
  });
}
