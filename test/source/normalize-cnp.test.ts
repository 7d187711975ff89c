/**
 * ClusterNetworkPolicy through source/normalize: one row per defaulting rule
 * and per validation of the v0.3.0 CRD (standard and experimental channels).
 * Each row is one YAML document; errors must name the object and the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type {
  Cidr,
  ClusterNetworkPolicy,
  CnpPeer,
  CnpPort,
  CnpRule,
  LabelRequirement,
  LabelSelector,
  Protocol,
} from '../../src/model/k8s.js';
import { normalizeDocument, type NormalizedObject } from '../../src/source/normalize.js';
import { ManifestError } from '../../src/util/errors.js';

// ---- builders for YAML rows -------------------------------------------------

const BASE = 'tier: Admin, priority: 10, subject: {namespaces: {}}';
const cnp = (spec: string, apiVersion = 'policy.networking.k8s.io/v1beta1', metadata = '{name: c}'): string =>
  `apiVersion: ${apiVersion}\nkind: ClusterNetworkPolicy\nmetadata: ${metadata}\nspec: ${spec}\n`;
/** The base spec plus `extra` fields (a YAML flow mapping's inside). */
const spec = (extra = ''): string => cnp(`{${BASE}${extra === '' ? '' : `, ${extra}`}}`);
const ingress = (...rules: string[]): string => spec(`ingress: [${rules.join(', ')}]`);
const egress = (...rules: string[]): string => spec(`egress: [${rules.join(', ')}]`);
const inPeer = (peer: string): string => ingress(`{action: Accept, from: [${peer}]}`);
const outPeer = (peer: string): string => egress(`{action: Deny, to: [${peer}]}`);
const protocols = (...p: string[]): string =>
  ingress(`{action: Accept, from: [{namespaces: {}}], protocols: [${p.join(', ')}]}`);
const repeat = (item: string, n: number): string => Array.from({ length: n }, () => item).join(', ');
const ALL = '{namespaces: {}}';

// ---- builders for expected values ------------------------------------------

const req = (key: string, operator: LabelRequirement['operator'], ...values: string[]): LabelRequirement => ({
  key,
  operator,
  values,
});
const sel = (...requirements: LabelRequirement[]): LabelSelector => ({ requirements });
const cidr = (address: string, prefixLength: number, family: 4 | 6 = 4): Cidr => ({ family, address, prefixLength });
const nsPeer = (namespaces: LabelSelector = sel()): CnpPeer => ({ kind: 'pods', namespaces, pods: undefined });
const num = (port: number, endPort = port, protocol: Protocol = 'TCP'): CnpPort => ({
  kind: 'number',
  protocol,
  port,
  endPort,
});

/** A regex matching "<file>: <object>: <field>: …<text>" literally. */
const names = (field: string, text = '', object = 'c'): RegExp =>
  new RegExp(['in.yaml', object, field].map(escape).join(': ') + ': .*' + escape(text));
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---- pickers ---------------------------------------------------------------

type Pick = (objects: readonly NormalizedObject[]) => unknown;
const cnpOf = (objects: readonly NormalizedObject[]): ClusterNetworkPolicy => {
  assert.equal(objects.length, 1);
  const [o] = objects;
  assert.equal(o?.kind, 'ClusterNetworkPolicy');
  return o.value;
};
const whole: Pick = (o) => cnpOf(o);
const in0: Pick = (o): CnpRule | undefined => cnpOf(o).ingress[0];
const inPeers: Pick = (o) => cnpOf(o).ingress[0]?.peers;
const outPeers: Pick = (o) => cnpOf(o).egress[0]?.peers;
const inPorts: Pick = (o) => cnpOf(o).ingress[0]?.ports;
const outPorts: Pick = (o) => cnpOf(o).egress[0]?.ports;
const idAndKind: Pick = (o) => o.map((x) => `${x.kind} ${x.id}`);

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly pick?: Pick;
  readonly want?: unknown;
  readonly wantError?: RegExp;
  /** Every warning must match one of these, and each must match a warning. */
  readonly wantWarnings?: readonly RegExp[];
}

const minimal: ClusterNetworkPolicy = {
  name: 'c',
  tier: 'Admin',
  priority: 10,
  subject: { namespaces: sel(), pods: undefined },
  ingress: [],
  egress: [],
};

const valid: Case[] = [
  { name: 'minimal v1beta1 policy', yaml: spec(), pick: whole, want: minimal },
  { name: 'v1alpha2 reads the same', yaml: cnp(`{${BASE}}`, 'policy.networking.k8s.io/v1alpha2'), want: minimal },
  {
    name: 'id is the name alone, status ignored',
    yaml: `${spec()}status: {conditions: [{type: Ready, status: "True"}]}\n`,
    pick: idAndKind,
    want: ['ClusterNetworkPolicy c'],
  },
  {
    name: 'metadata.namespace ignored with a warning (cluster-scoped)',
    yaml: cnp(`{${BASE}}`, undefined, '{name: c, namespace: x}'),
    pick: idAndKind,
    want: ['ClusterNetworkPolicy c'],
    wantWarnings: [/metadata\.namespace "x" is ignored: ClusterNetworkPolicy is cluster-scoped/],
  },
  {
    name: 'Baseline tier, priority 0',
    yaml: cnp('{tier: Baseline, priority: 0, subject: {namespaces: {}}}'),
    pick: (o) => [cnpOf(o).tier, cnpOf(o).priority],
    want: ['Baseline', 0],
  },
  {
    name: 'priority 1000',
    yaml: cnp('{tier: Admin, priority: 1000, subject: {namespaces: {}}}'),
    pick: (o) => cnpOf(o).priority,
    want: 1000,
  },
  {
    name: 'subject.pods: absent namespaceSelector selects every namespace',
    yaml: cnp('{tier: Admin, priority: 1, subject: {pods: {podSelector: {matchLabels: {app: web}}}}}'),
    pick: (o) => cnpOf(o).subject,
    want: { namespaces: sel(), pods: sel(req('app', 'In', 'web')) },
  },
  {
    name: 'subject.namespaces: selector canonicalised',
    yaml: cnp(
      '{tier: Admin, priority: 1, subject: {namespaces: {matchExpressions: [{key: env, operator: In, values: [b, a, b]}]}}}',
    ),
    pick: (o) => cnpOf(o).subject,
    want: { namespaces: sel(req('env', 'In', 'a', 'b')), pods: undefined },
  },
  {
    name: 'ingress rule: name, action, namespaces and pods peers, written order kept',
    yaml: ingress(
      '{name: first, action: Deny, from: [{namespaces: {matchLabels: {a: "1"}}}, {pods: {namespaceSelector: {}, podSelector: {}}}]}',
      '{action: Pass, from: [{namespaces: {}}]}',
    ),
    pick: (o) => cnpOf(o).ingress,
    want: [
      {
        name: 'first',
        action: 'Deny',
        peers: [nsPeer(sel(req('a', 'In', '1'))), { kind: 'pods', namespaces: sel(), pods: sel() }],
        ports: undefined,
      },
      { name: undefined, action: 'Pass', peers: [nsPeer()], ports: undefined },
    ],
  },
  {
    name: 'empty rule name is no name',
    yaml: ingress(`{name: "", action: Accept, from: [${ALL}]}`),
    pick: (o) => (in0(o) as CnpRule).name,
    want: undefined,
  },
  {
    name: 'rule name of 100 characters',
    yaml: ingress(`{name: ${'n'.repeat(100)}, action: Accept, from: [${ALL}]}`),
    pick: (o) => (in0(o) as CnpRule).name?.length,
    want: 100,
  },
  { name: 'empty ingress and egress lists', yaml: spec('ingress: [], egress: []'), pick: whole, want: minimal },
  {
    name: '25 rules and 25 peers are allowed',
    yaml: ingress(repeat(`{action: Accept, from: [${repeat(ALL, 25)}]}`, 25)),
    pick: (o) => [cnpOf(o).ingress.length, cnpOf(o).ingress[24]?.peers.length],
    want: [25, 25],
  },
  {
    name: 'protocols: tcp number, udp range, sctp number, destinationNamedPort',
    yaml: protocols(
      '{tcp: {destinationPort: {number: 443}}}',
      '{udp: {destinationPort: {range: {start: 1000, end: 2000}}}}',
      '{sctp: {destinationPort: {number: 9}}}',
      '{destinationNamedPort: http}',
    ),
    pick: inPorts,
    want: [num(443), num(1000, 2000, 'UDP'), num(9, 9, 'SCTP'), { kind: 'named', name: 'http' }],
  },
  {
    name: 'port bounds 1 and 65535, range 1..65535',
    yaml: protocols(
      '{tcp: {destinationPort: {number: 1}}}',
      '{tcp: {destinationPort: {number: 65535}}}',
      '{tcp: {destinationPort: {range: {start: 1, end: 65535}}}}',
    ),
    pick: inPorts,
    want: [num(1), num(65535), num(1, 65535)],
  },
  {
    name: 'destinationNamedPort that no container port can have: kept, warned',
    yaml: protocols('{destinationNamedPort: Not_A_Name}'),
    pick: inPorts,
    want: [{ kind: 'named', name: 'Not_A_Name' }],
    wantWarnings: [
      /spec\.ingress\[0\]\.protocols\[0\]\.destinationNamedPort: "Not_A_Name" is not a valid container port name/,
    ],
  },
  {
    name: 'egress networks: v4 and v6, canonical, sorted, equal CIDRs merged',
    yaml: outPeer('{networks: ["fd00:0::/8", 10.0.0.0/8, "fd00::/8", 0.0.0.0/0]}'),
    pick: outPeers,
    want: [{ kind: 'networks', cidrs: [cidr('0.0.0.0', 0), cidr('10.0.0.0', 8), cidr('fd00::', 8, 6)] }],
  },
  {
    name: 'egress nodes and domainNames: validated, unsupported',
    yaml: outPeer('{nodes: {matchLabels: {role: db}}}, {domainNames: [example.com, "*.kubernetes.io", trailing.dot.]}'),
    pick: outPeers,
    want: [
      { kind: 'unsupported', field: 'nodes' },
      { kind: 'unsupported', field: 'domainNames' },
    ],
  },
  {
    name: 'egress destinationNamedPort with pods peers only is fine',
    yaml: egress(
      '{action: Accept, to: [{pods: {podSelector: {}}}, {namespaces: {}}], protocols: [{destinationNamedPort: dns}]}',
    ),
    pick: outPorts,
    want: [{ kind: 'named', name: 'dns' }],
  },
  {
    name: 'egress networks peer with numeric ports is fine',
    yaml: egress(
      '{action: Accept, to: [{networks: [10.0.0.0/8]}], protocols: [{tcp: {destinationPort: {number: 53}}}]}',
    ),
    pick: outPorts,
    want: [num(53)],
  },
  {
    name: 'ClusterNetworkPolicyList: items may omit kind and apiVersion',
    yaml: `apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicyList\nitems:\n- {metadata: {name: b}, spec: {${BASE}}}\n- {metadata: {name: a}, spec: {${BASE}}}\n`,
    pick: idAndKind,
    want: ['ClusterNetworkPolicy b', 'ClusterNetworkPolicy a'],
  },
  {
    name: 'ingress peer namespaces: every pod of the selected namespaces',
    yaml: inPeer(ALL),
    pick: inPeers,
    want: [nsPeer()],
  },
];

const X = 'spec.egress[0].protocols[0].destinationNamedPort';
const invalid: Case[] = [
  // --- kind, apiVersion, metadata, spec ---
  {
    name: 'unknown apiVersion',
    yaml: cnp(`{${BASE}}`, 'policy.networking.k8s.io/v1'),
    wantError: names('apiVersion', 'unknown apiVersion "policy.networking.k8s.io/v1" for ClusterNetworkPolicy'),
  },
  {
    name: 'spec missing',
    yaml: 'apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: c}\n',
    wantError: names('spec', 'is required'),
  },
  {
    name: 'spec unknown field',
    yaml: spec('podSelector: {}'),
    wantError: names('spec.podSelector', 'unknown field "podSelector"'),
  },
  // --- tier, priority ---
  {
    name: 'tier missing',
    yaml: cnp('{priority: 1, subject: {namespaces: {}}}'),
    wantError: names('spec.tier', 'is required'),
  },
  {
    name: 'tier unknown',
    yaml: cnp('{tier: Developer, priority: 1, subject: {namespaces: {}}}'),
    wantError: names('spec.tier', '"Developer" is not a tier (valid: Admin, Baseline)'),
  },
  {
    name: 'priority missing',
    yaml: cnp('{tier: Admin, subject: {namespaces: {}}}'),
    wantError: names('spec.priority', 'is required'),
  },
  {
    name: 'priority above 1000',
    yaml: cnp('{tier: Admin, priority: 1001, subject: {namespaces: {}}}'),
    wantError: names('spec.priority', '1001 is out of range 0..1000'),
  },
  {
    name: 'priority below 0',
    yaml: cnp('{tier: Admin, priority: -1, subject: {namespaces: {}}}'),
    wantError: names('spec.priority', 'out of range'),
  },
  {
    name: 'priority not an integer',
    yaml: cnp('{tier: Admin, priority: 1.5, subject: {namespaces: {}}}'),
    wantError: names('spec.priority', 'must be an integer'),
  },
  {
    name: 'priority a string',
    yaml: cnp('{tier: Admin, priority: "1", subject: {namespaces: {}}}'),
    wantError: names('spec.priority', 'must be an integer'),
  },
  // --- subject ---
  { name: 'subject missing', yaml: cnp('{tier: Admin, priority: 1}'), wantError: names('spec.subject', 'is required') },
  {
    name: 'subject empty',
    yaml: cnp('{tier: Admin, priority: 1, subject: {}}'),
    wantError: names('spec.subject', 'must set exactly one of namespaces, pods (none is set)'),
  },
  {
    name: 'subject with both fields',
    yaml: cnp('{tier: Admin, priority: 1, subject: {namespaces: {}, pods: {podSelector: {}}}}'),
    wantError: names('spec.subject', 'found namespaces and pods'),
  },
  {
    name: 'subject unknown field',
    yaml: cnp('{tier: Admin, priority: 1, subject: {nodes: {}}}'),
    wantError: names('spec.subject.nodes', 'unknown field "nodes"'),
  },
  {
    name: 'subject.pods without podSelector',
    yaml: cnp('{tier: Admin, priority: 1, subject: {pods: {namespaceSelector: {}}}}'),
    wantError: names('spec.subject.pods.podSelector', 'is required'),
  },
  {
    name: 'subject selector with a bad operator',
    yaml: cnp('{tier: Admin, priority: 1, subject: {namespaces: {matchExpressions: [{key: a, operator: Has}]}}}'),
    wantError: names('spec.subject.namespaces.matchExpressions[0].operator', 'invalid selector operator "Has"'),
  },
  // --- rules ---
  {
    name: '26 ingress rules',
    yaml: ingress(repeat(`{action: Accept, from: [${ALL}]}`, 26)),
    wantError: names('spec.ingress', 'at most 25 rules, got 26'),
  },
  {
    name: '26 egress rules',
    yaml: egress(repeat(`{action: Accept, to: [${ALL}]}`, 26)),
    wantError: names('spec.egress', 'at most 25 rules, got 26'),
  },
  {
    name: 'rules not a list',
    yaml: spec('ingress: {action: Accept}'),
    wantError: names('spec.ingress', 'must be a list'),
  },
  {
    name: 'rule name of 101 characters',
    yaml: ingress(`{name: ${'n'.repeat(101)}, action: Accept, from: [${ALL}]}`),
    wantError: names('spec.ingress[0].name', 'at most 100 characters, got 101'),
  },
  {
    name: 'action missing',
    yaml: ingress(`{from: [${ALL}]}`),
    wantError: names('spec.ingress[0].action', 'is required'),
  },
  {
    name: 'action unknown',
    yaml: egress(`{action: Allow, to: [${ALL}]}`),
    wantError: names('spec.egress[0].action', '"Allow" is not an action (valid: Accept, Deny, Pass)'),
  },
  { name: 'from missing', yaml: ingress('{action: Accept}'), wantError: names('spec.ingress[0].from', 'is required') },
  {
    name: 'from empty',
    yaml: ingress('{action: Accept, from: []}'),
    wantError: names('spec.ingress[0].from', 'at least 1 peer, got none'),
  },
  {
    name: '26 peers',
    yaml: ingress(`{action: Accept, from: [${repeat(ALL, 26)}]}`),
    wantError: names('spec.ingress[0].from', 'at most 25 peers, got 26'),
  },
  { name: 'to missing', yaml: egress(`{action: Deny}`), wantError: names('spec.egress[0].to', 'is required') },
  {
    name: 'egress rule with from',
    yaml: egress(`{action: Deny, to: [${ALL}], from: [${ALL}]}`),
    wantError: names('spec.egress[0].from', 'unknown field "from"'),
  },
  {
    name: 'rule unknown field',
    yaml: ingress(`{action: Accept, from: [${ALL}], ports: []}`),
    wantError: names('spec.ingress[0].ports', 'unknown field "ports"'),
  },
  // --- peers ---
  {
    name: 'peer with no field',
    yaml: inPeer('{}'),
    wantError: names('spec.ingress[0].from[0]', 'a peer must set exactly one of namespaces, pods (none is set)'),
  },
  {
    name: 'peer with two fields',
    yaml: outPeer('{namespaces: {}, networks: [10.0.0.0/8]}'),
    wantError: names('spec.egress[0].to[0]', 'found namespaces and networks'),
  },
  {
    name: 'ingress peer networks',
    yaml: inPeer('{networks: [10.0.0.0/8]}'),
    wantError: names('spec.ingress[0].from[0].networks', 'networks peers are egress-only'),
  },
  {
    name: 'ingress peer nodes',
    yaml: inPeer('{nodes: {}}'),
    wantError: names('spec.ingress[0].from[0].nodes', 'egress-only'),
  },
  {
    name: 'ingress peer domainNames',
    yaml: inPeer('{domainNames: [a.io]}'),
    wantError: names('spec.ingress[0].from[0].domainNames', 'egress-only'),
  },
  {
    name: 'egress peer unknown field',
    yaml: outPeer('{services: {}}'),
    wantError: names('spec.egress[0].to[0].services', 'unknown field "services"'),
  },
  {
    name: 'peer pods without podSelector',
    yaml: outPeer('{pods: {namespaceSelector: {}}}'),
    wantError: names('spec.egress[0].to[0].pods.podSelector', 'is required'),
  },
  {
    name: 'peer pods unknown field',
    yaml: inPeer('{pods: {podSelector: {}, namespaces: {}}}'),
    wantError: names('spec.ingress[0].from[0].pods.namespaces', 'unknown field'),
  },
  {
    name: 'peer selector label value not a string',
    yaml: inPeer('{namespaces: {matchLabels: {on: true}}}'),
    wantError: names('spec.ingress[0].from[0].namespaces.matchLabels.on', 'must be a string'),
  },
  {
    name: 'networks empty',
    yaml: outPeer('{networks: []}'),
    wantError: names('spec.egress[0].to[0].networks', 'at least 1 network, got none'),
  },
  {
    name: '26 networks',
    yaml: outPeer(`{networks: [${Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`).join(', ')}]}`),
    wantError: names('spec.egress[0].to[0].networks', 'at most 25 networks, got 26'),
  },
  {
    name: 'network not a CIDR',
    yaml: outPeer('{networks: [10.0.0.0/8, nonsense]}'),
    wantError: names('spec.egress[0].to[0].networks[1]', 'invalid CIDR "nonsense"'),
  },
  {
    name: 'network without prefix',
    yaml: outPeer('{networks: [10.0.0.1]}'),
    wantError: names('spec.egress[0].to[0].networks[0]', 'invalid CIDR'),
  },
  {
    name: 'network with host bits set is refused (unlike ipBlock)',
    yaml: egress(
      `{action: Accept, to: [${ALL}]}`,
      '{action: Deny, to: [{networks: [10.0.0.0/8, "fd00::/8", 10.0.0.1/8]}]}',
    ),
    wantError: names(
      'spec.egress[1].to[0].networks[2]',
      'CIDR "10.0.0.1/8" has host bits set (the API server refuses it); write 10.0.0.0/8',
    ),
  },
  {
    name: 'IPv6 network with host bits set',
    yaml: outPeer('{networks: ["fd00::1/8"]}'),
    wantError: names('spec.egress[0].to[0].networks[0]', 'host bits set'),
  },
  {
    name: 'IPv4-mapped IPv6 network',
    yaml: outPeer('{networks: ["::ffff:10.0.0.0/104"]}'),
    wantError: names('spec.egress[0].to[0].networks[0]', 'IPv4-mapped'),
  },
  {
    name: 'network longer than 43 characters',
    yaml: outPeer(`{networks: ["${'0000:'.repeat(7)}0000/1288"]}`),
    wantError: names('spec.egress[0].to[0].networks[0]', 'at most 43 characters, got 44'),
  },
  {
    name: 'duplicate network',
    yaml: outPeer('{networks: [10.0.0.0/8, 10.0.0.0/8]}'),
    wantError: names('spec.egress[0].to[0].networks[1]', 'duplicate network "10.0.0.0/8"'),
  },
  {
    name: 'network not a string',
    yaml: outPeer('{networks: [10]}'),
    wantError: names('spec.egress[0].to[0].networks[0]', 'must be a string'),
  },
  {
    name: 'nodes selector invalid',
    yaml: outPeer('{nodes: {matchExpressions: [{key: a, operator: In}]}}'),
    wantError: names('spec.egress[0].to[0].nodes.matchExpressions[0].values', 'must be non-empty for operator In'),
  },
  {
    name: 'domain name with a partial wildcard',
    yaml: outPeer('{domainNames: ["foo*.example.com"]}'),
    wantError: names('spec.egress[0].to[0].domainNames[0]', 'invalid domain name "foo*.example.com"'),
  },
  {
    name: 'domain name without a dot',
    yaml: outPeer('{domainNames: [localhost]}'),
    wantError: names('spec.egress[0].to[0].domainNames[0]', 'invalid domain name'),
  },
  {
    name: 'domainNames empty',
    yaml: outPeer('{domainNames: []}'),
    wantError: names('spec.egress[0].to[0].domainNames', 'at least 1 domain name'),
  },
  {
    name: 'duplicate domain name',
    yaml: outPeer('{domainNames: [a.io, a.io]}'),
    wantError: names('spec.egress[0].to[0].domainNames[1]', 'duplicate domain name "a.io"'),
  },
  // --- protocols ---
  {
    name: 'protocols empty',
    yaml: protocols(),
    wantError: names('spec.ingress[0].protocols', 'at least 1 protocol, got none'),
  },
  {
    name: '26 protocols',
    yaml: protocols(repeat('{tcp: {destinationPort: {number: 80}}}', 26)),
    wantError: names('spec.ingress[0].protocols', 'at most 25 protocols, got 26'),
  },
  {
    name: 'protocol with no field',
    yaml: protocols('{}'),
    wantError: names(
      'spec.ingress[0].protocols[0]',
      'a protocol must set exactly one of tcp, udp, sctp, destinationNamedPort (none is set)',
    ),
  },
  {
    name: 'protocol with two fields',
    yaml: protocols('{tcp: {destinationPort: {number: 80}}, udp: {destinationPort: {number: 80}}}'),
    wantError: names('spec.ingress[0].protocols[0]', 'found tcp and udp'),
  },
  {
    name: 'protocol unknown field',
    yaml: protocols('{icmp: {}}'),
    wantError: names('spec.ingress[0].protocols[0].icmp', 'unknown field "icmp"'),
  },
  {
    name: 'tcp without destinationPort',
    yaml: protocols('{tcp: {}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort', 'is required'),
  },
  {
    name: 'tcp unknown field',
    yaml: protocols('{tcp: {sourcePort: {number: 1}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.sourcePort', 'unknown field'),
  },
  {
    name: 'destinationPort empty',
    yaml: protocols('{udp: {destinationPort: {}}}'),
    wantError: names(
      'spec.ingress[0].protocols[0].udp.destinationPort',
      'destinationPort must set exactly one of number, range (none is set)',
    ),
  },
  {
    name: 'destinationPort number and range',
    yaml: protocols('{sctp: {destinationPort: {number: 1, range: {start: 1, end: 2}}}}'),
    wantError: names('spec.ingress[0].protocols[0].sctp.destinationPort', 'found number and range'),
  },
  {
    name: 'port number 0',
    yaml: protocols('{tcp: {destinationPort: {number: 0}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.number', '0 is out of range 1..65535'),
  },
  {
    name: 'port number 65536',
    yaml: protocols('{tcp: {destinationPort: {number: 65536}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.number', 'out of range'),
  },
  {
    name: 'port number as a string',
    yaml: protocols('{tcp: {destinationPort: {number: "80"}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.number', 'must be an integer'),
  },
  {
    name: 'range start equal to end',
    yaml: protocols('{tcp: {destinationPort: {range: {start: 80, end: 80}}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.range', 'start 80 must be less than end 80'),
  },
  {
    name: 'range start after end',
    yaml: protocols('{udp: {destinationPort: {range: {start: 90, end: 80}}}}'),
    wantError: names('spec.ingress[0].protocols[0].udp.destinationPort.range', 'must be less than end'),
  },
  {
    name: 'range start missing',
    yaml: protocols('{tcp: {destinationPort: {range: {end: 80}}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.range.start', 'is required'),
  },
  {
    name: 'range end out of range',
    yaml: protocols('{tcp: {destinationPort: {range: {start: 1, end: 70000}}}}'),
    wantError: names('spec.ingress[0].protocols[0].tcp.destinationPort.range.end', 'out of range'),
  },
  {
    name: 'destinationNamedPort not a string',
    yaml: protocols('{destinationNamedPort: 80}'),
    wantError: names('spec.ingress[0].protocols[0].destinationNamedPort', 'must be a string'),
  },
  // --- the egress rule's validation: no named ports towards networks, nodes, domainNames ---
  {
    name: 'networks peer with destinationNamedPort',
    yaml: egress(
      '{action: Accept, to: [{namespaces: {}}, {networks: [10.0.0.0/8]}], protocols: [{destinationNamedPort: http}]}',
    ),
    wantError: names(X, 'destinationNamedPort cannot be used in a rule with a networks peer (spec.egress[0].to[1])'),
  },
  {
    name: 'nodes peer with destinationNamedPort',
    yaml: egress('{action: Deny, to: [{nodes: {}}], protocols: [{destinationNamedPort: http}]}'),
    wantError: names(X, 'with a nodes peer (spec.egress[0].to[0])'),
  },
  {
    name: 'domainNames peer with destinationNamedPort (second protocol)',
    yaml: egress(
      '{action: Accept, to: [{domainNames: [a.io]}], protocols: [{tcp: {destinationPort: {number: 443}}}, {destinationNamedPort: https}]}',
    ),
    wantError: names('spec.egress[0].protocols[1].destinationNamedPort', 'with a domainNames peer'),
  },
];

for (const c of [...valid, ...invalid]) {
  test(`ClusterNetworkPolicy: ${c.name}`, () => {
    const run = (): ReturnType<typeof normalizeDocument> => normalizeDocument(parse(c.yaml) as unknown, 'in.yaml');
    if (c.wantError !== undefined) {
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof ManifestError, `not a ManifestError: ${String(err)}`);
        assert.equal(err.code, 'SLUICE_MANIFEST_INVALID');
        assert.match(err.message, c.wantError!);
        return true;
      });
      return;
    }
    const got = run();
    assert.deepStrictEqual((c.pick ?? whole)(got.objects), c.want);
    const wantWarnings = c.wantWarnings ?? [];
    assert.equal(got.warnings.length, wantWarnings.length, `warnings: ${JSON.stringify(got.warnings)}`);
    for (const w of wantWarnings) {
      assert.ok(
        got.warnings.some((g) => w.test(g.message) && g.object === 'c'),
        `no warning ${String(w)}`,
      );
    }
  });
}

test('ClusterNetworkPolicy: errors carry file, object and field as context', () => {
  assert.throws(
    () =>
      normalizeDocument(parse(cnp('{tier: Admin, priority: 5000, subject: {namespaces: {}}}')) as unknown, 'in.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.deepStrictEqual(err.context, { file: 'in.yaml', object: 'c', field: 'spec.priority' });
      return true;
    },
  );
});
