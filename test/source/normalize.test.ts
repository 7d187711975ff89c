/**
 * One row per defaulting rule and per validation error of source/normalize.
 * Each row is one YAML document; errors must name the object and field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type {
  Cidr,
  IpBlock,
  LabelRequirement,
  LabelSelector,
  NetworkPolicy,
  Peer,
  PortSpec,
  Protocol,
  Rule,
} from '../../src/model/k8s.js';
import { normalizeDocument, type NormalizedObject } from '../../src/source/normalize.js';
import { ManifestError } from '../../src/util/errors.js';

// ---- builders for YAML rows -------------------------------------------------

const np = (spec: string, apiVersion = 'networking.k8s.io/v1'): string =>
  `apiVersion: ${apiVersion}\nkind: NetworkPolicy\nmetadata: {name: np, namespace: x}\nspec: ${spec}\n`;
/** A policy in namespace x whose only ingress rule is `rule`. */
const inRule = (rule: string): string => np(`{podSelector: {}, ingress: [${rule}]}`);
const fromPeer = (peer: string): string => inRule(`{from: [${peer}]}`);
const withPort = (port: string): string => inRule(`{ports: [${port}]}`);
const podY = (spec: string, status: string, metadata = '{name: p, namespace: x}'): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: ${metadata}\nspec: ${spec}\nstatus: ${status}\n`;
const ipsOf = (status: string): string => podY('{}', status);
/** A policy in namespace x with these `metadata.annotations` (a YAML flow mapping). */
const annotated = (annotations: string): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: x, annotations: ${annotations}}\nspec: {podSelector: {}}\n`;

// ---- builders for expected values ------------------------------------------

const req = (key: string, operator: LabelRequirement['operator'], ...values: string[]): LabelRequirement => ({
  key,
  operator,
  values,
});
const sel = (...requirements: LabelRequirement[]): LabelSelector => ({ requirements });
const cidr = (address: string, prefixLength: number, family: 4 | 6 = 4): Cidr => ({ family, address, prefixLength });
const peer = (p: { pod?: LabelSelector; ns?: LabelSelector; ip?: IpBlock }): Peer => ({
  podSelector: p.pod,
  namespaceSelector: p.ns,
  ipBlock: p.ip,
});
const num = (port: number, endPort = port, protocol: Protocol = 'TCP'): PortSpec => ({
  kind: 'number',
  protocol,
  port,
  endPort,
});
const allPorts = (protocol: Protocol = 'TCP'): PortSpec => ({ kind: 'all-ports', protocol });
const namedPort = (name: string, protocol: Protocol = 'TCP'): PortSpec => ({ kind: 'named', protocol, name });

/** A regex matching "<file>: <object>: <field>: …<text>" literally. */
const names = (object: string, field: string, text = ''): RegExp =>
  new RegExp(['in.yaml', object, field].map(escape).join(': ') + ': .*' + escape(text));
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---- pickers ---------------------------------------------------------------

type Pick = (objects: readonly NormalizedObject[]) => unknown;
const only = (objects: readonly NormalizedObject[]): NormalizedObject['value'] => {
  assert.equal(objects.length, 1);
  return objects[0]!.value;
};
const policyOf = (objects: readonly NormalizedObject[]): NetworkPolicy => only(objects) as NetworkPolicy;
const types: Pick = (o) => [policyOf(o).ingressEnabled, policyOf(o).egressEnabled];
const rule0: Pick = (o): Rule | undefined => policyOf(o).ingress[0];
const peers0: Pick = (o) => policyOf(o).ingress[0]?.peers;
const ports0: Pick = (o) => policyOf(o).ingress[0]?.ports;
const podSel: Pick = (o) => policyOf(o).podSelector;
const enforcement: Pick = (o) => policyOf(o).enforcement;
const field =
  (key: string): Pick =>
  (o) =>
    (only(o) as unknown as Record<string, unknown>)[key];

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly pick?: Pick;
  readonly want?: unknown;
  readonly wantError?: RegExp;
  /** Every warning must match one of these, and each must match a warning. */
  readonly wantWarnings?: readonly RegExp[];
}

const cases: Case[] = [
  // --- kinds, apiVersions, metadata ---
  { name: 'empty document yields nothing', yaml: '', pick: (o) => o, want: [] },
  {
    name: 'unknown kind',
    yaml: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n',
    wantError: names('default/s', 'kind', 'unknown kind "Service"'),
  },
  { name: 'missing kind', yaml: 'apiVersion: v1\nmetadata: {name: s}\n', wantError: /in\.yaml: kind: is required/ },
  { name: 'document not a mapping', yaml: '- a\n- b\n', wantError: /in\.yaml: \(document\): must be a mapping/ },
  {
    name: 'unknown apiVersion for a known kind',
    yaml: np('{podSelector: {}}', 'networking.k8s.io/v2'),
    wantError: names('x/np', 'apiVersion', 'unknown apiVersion "networking.k8s.io/v2" for NetworkPolicy'),
  },
  {
    name: 'Pod with apps/v1 apiVersion',
    yaml: 'apiVersion: apps/v1\nkind: Pod\nmetadata: {name: p}\n',
    wantError: names('default/p', 'apiVersion'),
  },
  {
    name: 'extensions/v1beta1 read as networking.k8s.io/v1 with a warning',
    yaml: np('{podSelector: {}}', 'extensions/v1beta1'),
    pick: types,
    want: [true, false],
    wantWarnings: [/deprecated.*read as networking\.k8s\.io\/v1/],
  },
  {
    name: 'missing metadata.name',
    yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n',
    wantError: /in\.yaml: metadata\.name: is required/,
  },
  { name: 'missing metadata', yaml: 'apiVersion: v1\nkind: Pod\n', wantError: /in\.yaml: metadata: is required/ },
  {
    name: 'invalid namespace name',
    yaml: podY('{}', '{}', '{name: p, namespace: Bad_NS}'),
    wantError: names('Bad_NS/p', 'metadata.namespace', 'invalid namespace name'),
  },
  {
    name: 'namespace defaults to default',
    yaml: podY('{}', '{}', '{name: p}'),
    pick: field('namespace'),
    want: 'default',
  },
  {
    name: 'label value must be a string',
    yaml: podY('{}', '{}', '{name: p, labels: {version: 1}}'),
    wantError: names('default/p', 'metadata.labels.version', 'must be a string'),
  },
  {
    name: 'label keys with dots are quoted in the field path',
    yaml: podY('{}', '{}', '{name: p, labels: {"app.kubernetes.io/name": true}}'),
    wantError: names('default/p', 'metadata.labels["app.kubernetes.io/name"]'),
  },
  {
    name: 'Namespace gets kubernetes.io/metadata.name, overriding a wrong value',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: a, kubernetes.io/metadata.name: other}}\n',
    want: { name: 'prod', labels: { team: 'a', 'kubernetes.io/metadata.name': 'prod' } },
  },
  {
    name: 'kind: List items are each read',
    yaml: 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: a}}\n',
    pick: (o) => o.map((x) => `${x.kind} ${x.id}`),
    want: ['Namespace a', 'Pod a/p'],
  },
  {
    name: 'PodList items may omit kind and apiVersion',
    yaml: 'apiVersion: v1\nkind: PodList\nitems:\n- {metadata: {name: p}}\n',
    pick: (o) => o.map((x) => `${x.kind} ${x.id}`),
    want: ['Pod default/p'],
  },
  {
    name: 'List item errors name the item until its name is known',
    yaml: 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n- {apiVersion: v1, kind: Pod, metadata: {}}\n',
    wantError: names('items[1]', 'metadata.name', 'is required'),
  },

  {
    name: 'a kind named like an Object property is just unknown',
    yaml: 'apiVersion: v1\nkind: constructor\nmetadata: {name: s}\n',
    wantError: names('default/s', 'kind', 'unknown kind "constructor"'),
  },
  // --- Pod ---
  {
    name: 'pod defaults: no node, no hostNetwork, phase Running, no IPs, no ports',
    yaml: podY('{}', '{}'),
    want: {
      namespace: 'x',
      name: 'p',
      labels: {},
      nodeName: undefined,
      hostNetwork: false,
      phase: 'Running',
      ips: [],
      containerPorts: [],
    },
  },
  {
    name: 'pod without spec or status',
    yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n',
    pick: field('phase'),
    want: 'Running',
  },
  {
    name: 'hostNetwork true',
    yaml: podY('{hostNetwork: true, nodeName: n1}', '{}'),
    pick: (o) => [field('hostNetwork')(o), field('nodeName')(o)],
    want: [true, 'n1'],
  },
  {
    name: 'hostNetwork must be a boolean',
    yaml: podY('{hostNetwork: "yes"}', '{}'),
    wantError: names('x/p', 'spec.hostNetwork', 'must be true or false'),
  },
  { name: 'phase Pending is kept', yaml: podY('{}', '{phase: Pending}'), pick: field('phase'), want: 'Pending' },
  { name: 'phase Succeeded is kept', yaml: podY('{}', '{phase: Succeeded}'), pick: field('phase'), want: 'Succeeded' },
  {
    name: 'unknown phase',
    yaml: podY('{}', '{phase: Done}'),
    wantError: names('x/p', 'status.phase', '"Done" is not one of'),
  },
  { name: 'podIP only', yaml: ipsOf('{podIP: 10.0.0.1}'), pick: field('ips'), want: ['10.0.0.1'] },
  {
    name: 'dual-stack podIPs merged with podIP, canonical, deduped, v4 first',
    yaml: ipsOf('{podIP: "2001:DB8::0001", podIPs: [{ip: "2001:db8::1"}, {ip: 10.0.0.1}, {ip: 10.0.0.1}]}'),
    pick: field('ips'),
    want: ['10.0.0.1', '2001:db8::1'],
  },
  {
    name: 'IPv4-mapped pod IP read as IPv4',
    yaml: ipsOf('{podIPs: [{ip: "::ffff:10.0.0.7"}]}'),
    pick: field('ips'),
    want: ['10.0.0.7'],
  },
  { name: 'empty podIP string is no IP', yaml: ipsOf('{podIP: ""}'), pick: field('ips'), want: [] },
  {
    name: 'invalid pod IP',
    yaml: ipsOf('{podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.300}]}'),
    wantError: names('x/p', 'status.podIPs[1].ip', 'invalid IP address "10.0.0.300"'),
  },
  {
    name: 'legacy short IPv4 form rejected',
    yaml: ipsOf('{podIP: "10.1"}'),
    wantError: names('x/p', 'status.podIP', 'invalid IP'),
  },
  {
    name: 'IPv6 zone rejected',
    yaml: ipsOf('{podIP: "fe80::1%eth0"}'),
    wantError: names('x/p', 'status.podIP', 'invalid IP'),
  },
  {
    name: 'container ports: protocol defaults to TCP, names kept, other fields ignored',
    yaml: podY(
      '{volumes: [], containers: [{name: a, image: x, ports: [{name: http, containerPort: 80, hostPort: 8080}, {containerPort: 53, protocol: UDP}]}, {name: b}]}',
      '{}',
    ),
    pick: field('containerPorts'),
    want: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: undefined, port: 53, protocol: 'UDP' },
    ],
  },
  {
    name: 'containerPort out of range',
    yaml: podY('{containers: [{ports: [{containerPort: 0}]}]}', '{}'),
    wantError: names('x/p', 'spec.containers[0].ports[0].containerPort', 'out of range 1..65535'),
  },
  {
    name: 'containerPort missing',
    yaml: podY('{containers: [{ports: [{name: http}]}]}', '{}'),
    wantError: names('x/p', 'spec.containers[0].ports[0].containerPort', 'is required'),
  },
  {
    name: 'container port name invalid',
    yaml: podY('{containers: [{ports: [{name: HTTP, containerPort: 80}]}]}', '{}'),
    wantError: names('x/p', 'spec.containers[0].ports[0].name', 'invalid port name'),
  },
  {
    name: 'container port protocol invalid',
    yaml: podY('{containers: [{ports: [{containerPort: 80, protocol: ICMP}]}]}', '{}'),
    wantError: names('x/p', 'spec.containers[0].ports[0].protocol'),
  },

  // --- policyTypes ---
  {
    name: 'policyTypes absent, no egress: Ingress only',
    yaml: np('{podSelector: {}, ingress: [{}]}'),
    pick: types,
    want: [true, false],
  },
  {
    name: 'policyTypes absent, egress rule: Ingress and Egress',
    yaml: np('{podSelector: {}, egress: [{}]}'),
    pick: types,
    want: [true, true],
  },
  {
    name: 'policyTypes absent, egress: [] does not enable Egress',
    yaml: np('{podSelector: {}, egress: []}'),
    pick: types,
    want: [true, false],
  },
  {
    name: 'policyTypes [] is defaulted like absent',
    yaml: np('{podSelector: {}, policyTypes: [], egress: [{}]}'),
    pick: types,
    want: [true, true],
  },
  {
    name: 'explicit policyTypes [Egress]',
    yaml: np('{podSelector: {}, policyTypes: [Egress]}'),
    pick: types,
    want: [false, true],
  },
  {
    name: 'rules for a direction not in policyTypes are kept but warned about',
    yaml: np('{podSelector: {}, policyTypes: [Egress], ingress: [{}]}'),
    pick: types,
    want: [false, true],
    wantWarnings: [/spec\.ingress has rules but spec\.policyTypes does not include Ingress/],
  },
  {
    name: 'invalid policyType',
    yaml: np('{podSelector: {}, policyTypes: [Ingress, Both]}'),
    wantError: names('x/np', 'spec.policyTypes[1]', '"Both" is not a policy type'),
  },
  {
    name: 'podSelector is required',
    yaml: np('{ingress: [{}]}'),
    wantError: names('x/np', 'spec.podSelector', 'is required'),
  },
  {
    name: 'spec is required',
    yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: x}\n',
    wantError: names('x/np', 'spec', 'is required'),
  },

  // --- rules: absent / empty ---
  {
    name: 'rule {} allows all peers and ports',
    yaml: inRule('{}'),
    pick: rule0,
    want: { peers: undefined, ports: undefined },
  },
  {
    name: 'from: [] and ports: [] mean all',
    yaml: inRule('{from: [], ports: []}'),
    pick: rule0,
    want: { peers: undefined, ports: undefined },
  },
  {
    name: 'from: null means all',
    yaml: inRule('{from: null}'),
    pick: rule0,
    want: { peers: undefined, ports: undefined },
  },
  { name: 'no ingress rules', yaml: np('{podSelector: {}}'), pick: (o) => policyOf(o).ingress, want: [] },

  // --- ports ---
  { name: 'port absent: all ports of TCP', yaml: withPort('{}'), pick: ports0, want: [allPorts()] },
  { name: 'port absent with protocol UDP', yaml: withPort('{protocol: UDP}'), pick: ports0, want: [allPorts('UDP')] },
  { name: 'numeric port: endPort = port, protocol TCP', yaml: withPort('{port: 80}'), pick: ports0, want: [num(80)] },
  { name: 'SCTP port', yaml: withPort('{port: 9, protocol: SCTP}'), pick: ports0, want: [num(9, 9, 'SCTP')] },
  { name: 'digit string port read as number', yaml: withPort('{port: "8080"}'), pick: ports0, want: [num(8080)] },
  {
    name: 'named port',
    yaml: withPort('{port: http-alt, protocol: UDP}'),
    pick: ports0,
    want: [namedPort('http-alt', 'UDP')],
  },
  { name: 'port range', yaml: withPort('{port: 32000, endPort: 32768}'), pick: ports0, want: [num(32000, 32768)] },
  { name: 'endPort equal to port', yaml: withPort('{port: 80, endPort: 80}'), pick: ports0, want: [num(80)] },
  {
    name: 'invalid protocol',
    yaml: withPort('{protocol: ICMP, port: 1}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].protocol', '"ICMP" is not one of TCP, UDP, SCTP'),
  },
  {
    name: 'lowercase protocol rejected',
    yaml: withPort('{protocol: tcp}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].protocol'),
  },
  {
    name: 'port 0 out of range',
    yaml: withPort('{port: 0}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'out of range 1..65535'),
  },
  {
    name: 'port 65536 out of range',
    yaml: withPort('{port: 65536}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'out of range'),
  },
  {
    name: 'digit string port out of range',
    yaml: withPort('{port: "70000"}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'out of range'),
  },
  {
    name: 'fractional port',
    yaml: withPort('{port: 80.5}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'must be an integer'),
  },
  {
    name: 'endPort below port',
    yaml: withPort('{port: 90, endPort: 80}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].endPort', 'endPort 80 is below port 90'),
  },
  {
    name: 'endPort above 65535',
    yaml: withPort('{port: 90, endPort: 70000}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].endPort', 'out of range'),
  },
  {
    name: 'named port with endPort',
    yaml: withPort('{port: http, endPort: 90}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].endPort', 'named port "http"'),
  },
  {
    name: 'endPort without port',
    yaml: withPort('{endPort: 90}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].endPort', 'requires a numeric port'),
  },
  {
    name: 'port name with capitals',
    yaml: withPort('{port: HTTP}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'invalid port name "HTTP"'),
  },
  {
    name: 'port name longer than 15',
    yaml: withPort('{port: a-very-long-port-name}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'invalid port name'),
  },
  {
    name: 'port name with double dash',
    yaml: withPort('{port: a--b}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].port', 'invalid port name'),
  },
  {
    name: 'unknown field in a port',
    yaml: withPort('{port: 80, targetPort: 81}'),
    wantError: names('x/np', 'spec.ingress[0].ports[0].targetPort', 'unknown field "targetPort"'),
  },

  // --- peers ---
  {
    name: 'podSelector peer: own namespace',
    yaml: fromPeer('{podSelector: {matchLabels: {app: a}}}'),
    pick: peers0,
    want: [peer({ pod: sel(req('app', 'In', 'a')) })],
  },
  {
    name: 'namespaceSelector peer: all pods of selected namespaces',
    yaml: fromPeer('{namespaceSelector: {}}'),
    pick: peers0,
    want: [peer({ ns: sel() })],
  },
  {
    name: 'podSelector and namespaceSelector together',
    yaml: fromPeer('{podSelector: {}, namespaceSelector: {matchLabels: {t: b}}}'),
    pick: peers0,
    want: [peer({ pod: sel(), ns: sel(req('t', 'In', 'b')) })],
  },
  {
    name: 'empty peer',
    yaml: fromPeer('{}'),
    wantError: names('x/np', 'spec.ingress[0].from[0]', 'a peer must set podSelector, namespaceSelector or ipBlock'),
  },
  {
    name: 'ipBlock with podSelector',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0]', 'ipBlock must be the only field'),
  },
  {
    name: 'ipBlock with namespaceSelector (egress)',
    yaml: np('{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]}'),
    wantError: names('x/np', 'spec.egress[0].to[0]', 'ipBlock must be the only field'),
  },
  {
    name: 'unknown field in a peer',
    yaml: fromPeer('{namespaceSelecter: {}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].namespaceSelecter', 'unknown field'),
  },
  {
    name: 'unknown field in a rule (to in ingress)',
    yaml: inRule('{to: []}'),
    wantError: names('x/np', 'spec.ingress[0].to', 'unknown field "to"'),
  },
  {
    name: 'unknown field in spec',
    yaml: np('{podSelector: {}, ingres: []}'),
    wantError: names('x/np', 'spec.ingres', 'unknown field "ingres"'),
  },

  // --- ipBlock ---
  {
    name: 'ipBlock without except',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8}}'),
    pick: peers0,
    want: [peer({ ip: { cidr: cidr('10.0.0.0', 8), except: [] } })],
  },
  {
    name: 'IPv6 ipBlock canonicalised',
    yaml: fromPeer('{ipBlock: {cidr: "2001:DB8:0:0::/32", except: ["2001:db8:0:1::/64"]}}'),
    pick: peers0,
    want: [peer({ ip: { cidr: cidr('2001:db8::', 32, 6), except: [cidr('2001:db8:0:1::', 64, 6)] } })],
  },
  {
    name: 'host bits cleared with a warning',
    yaml: fromPeer('{ipBlock: {cidr: 10.1.2.3/16}}'),
    pick: peers0,
    want: [peer({ ip: { cidr: cidr('10.1.0.0', 16), except: [] } })],
    wantWarnings: [
      /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: CIDR "10\.1\.2\.3\/16" has host bits set; read as 10\.1\.0\.0\/16/,
    ],
  },
  {
    name: 'excepts sorted and de-duplicated',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.2.0.0/16, 10.1.0.0/16, 10.2.0.0/16]}}'),
    pick: peers0,
    want: [peer({ ip: { cidr: cidr('10.0.0.0', 8), except: [cidr('10.1.0.0', 16), cidr('10.2.0.0', 16)] } })],
  },
  {
    name: '/0 cidr',
    yaml: fromPeer('{ipBlock: {cidr: 0.0.0.0/0}}'),
    pick: peers0,
    want: [peer({ ip: { cidr: cidr('0.0.0.0', 0), except: [] } })],
  },
  {
    name: 'invalid CIDR: prefix too long',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/33}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.cidr', 'invalid CIDR "10.0.0.0/33"'),
  },
  {
    name: 'invalid CIDR: no prefix',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.cidr', 'invalid CIDR'),
  },
  {
    name: 'invalid CIDR: leading zero octet',
    yaml: fromPeer('{ipBlock: {cidr: 010.0.0.0/8}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.cidr', 'invalid CIDR'),
  },
  {
    name: 'IPv4-mapped CIDR rejected',
    yaml: fromPeer('{ipBlock: {cidr: "::ffff:10.0.0.0/104"}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.cidr', 'IPv4-mapped'),
  },
  {
    name: 'cidr missing',
    yaml: fromPeer('{ipBlock: {except: [10.0.0.0/16]}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.cidr', 'is required'),
  },
  {
    name: 'invalid except',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/16, bogus]}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.except[1]', 'invalid CIDR "bogus"'),
  },
  {
    name: 'except outside its cidr',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}'),
    wantError: names(
      'x/np',
      'spec.ingress[0].from[0].ipBlock.except[0]',
      'except 11.0.0.0/16 outside its cidr 10.0.0.0/8',
    ),
  },
  {
    name: 'except equal to its cidr',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.except[0]', 'outside its cidr'),
  },
  {
    name: 'except wider than its cidr',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.except[0]', 'outside its cidr'),
  },
  {
    name: 'except of the other family',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: ["fd00::/64"]}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.except[0]', 'outside its cidr'),
  },
  {
    name: 'unknown field in ipBlock',
    yaml: fromPeer('{ipBlock: {cidr: 10.0.0.0/8, excepts: []}}'),
    wantError: names('x/np', 'spec.ingress[0].from[0].ipBlock.excepts', 'unknown field'),
  },

  // --- the sluice.io/enforcement annotation ---
  { name: 'no annotations: enforced', yaml: np('{podSelector: {}}'), pick: enforcement, want: 'enforce' },
  { name: 'annotations: null: enforced', yaml: annotated('null'), pick: enforcement, want: 'enforce' },
  {
    name: 'other annotations only: enforced',
    yaml: annotated('{team: shop, "sluice.io/other": audit}'),
    pick: enforcement,
    want: 'enforce',
  },
  {
    name: 'sluice.io/enforcement: audit',
    yaml: annotated('{"sluice.io/enforcement": audit}'),
    pick: enforcement,
    want: 'audit',
  },
  {
    name: 'sluice.io/enforcement: enforce',
    yaml: annotated('{"sluice.io/enforcement": enforce}'),
    pick: enforcement,
    want: 'enforce',
  },
  {
    name: 'a bogus enforcement is warned about and enforced',
    yaml: annotated('{"sluice.io/enforcement": dry-run}'),
    pick: enforcement,
    want: 'enforce',
    wantWarnings: [
      /sluice\.io\/enforcement.*"dry-run" is not an enforcement \(valid: enforce, audit\); the policy is enforced/,
    ],
  },
  {
    name: 'enforcement values are case-sensitive: Audit is warned about and enforced',
    yaml: annotated('{"sluice.io/enforcement": Audit}'),
    pick: enforcement,
    want: 'enforce',
    wantWarnings: [/"Audit" is not an enforcement/],
  },
  {
    name: 'an enforcement that is not a string',
    yaml: annotated('{"sluice.io/enforcement": true}'),
    wantError: names('x/np', 'metadata.annotations["sluice.io/enforcement"]', 'must be a string'),
  },
  {
    name: 'annotations not a mapping',
    yaml: annotated('[audit]'),
    wantError: names('x/np', 'metadata.annotations', 'must be a mapping'),
  },

  // --- selectors ---
  { name: 'empty podSelector selects all', yaml: np('{podSelector: {}}'), pick: podSel, want: sel() },
  {
    name: 'matchLabels folded into In, sorted by key',
    yaml: np('{podSelector: {matchLabels: {b: "2", a: "1"}}}'),
    pick: podSel,
    want: sel(req('a', 'In', '1'), req('b', 'In', '2')),
  },
  {
    name: 'expressions sorted by key then operator, values sorted and deduped',
    yaml: np(
      '{podSelector: {matchExpressions: [{key: t, operator: NotIn, values: [z, y, z]}, {key: t, operator: Exists}, {key: a, operator: DoesNotExist, values: []}]}}',
    ),
    pick: podSel,
    want: sel(req('a', 'DoesNotExist'), req('t', 'Exists'), req('t', 'NotIn', 'y', 'z')),
  },
  {
    name: 'matchLabels and an identical In expression collapse',
    yaml: np('{podSelector: {matchLabels: {a: x}, matchExpressions: [{key: a, operator: In, values: [x]}]}}'),
    pick: podSel,
    want: sel(req('a', 'In', 'x')),
  },
  {
    name: 'invalid selector operator',
    yaml: np('{podSelector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}}'),
    wantError: names('x/np', 'spec.podSelector.matchExpressions[0].operator', 'invalid selector operator "Equals"'),
  },
  {
    name: 'In without values',
    yaml: np('{podSelector: {matchExpressions: [{key: a, operator: In}]}}'),
    wantError: names('x/np', 'spec.podSelector.matchExpressions[0].values', 'must be non-empty for operator In'),
  },
  {
    name: 'Exists with values',
    yaml: fromPeer('{namespaceSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}'),
    wantError: names(
      'x/np',
      'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values',
      'must be empty for operator Exists',
    ),
  },
  {
    name: 'expression key empty',
    yaml: np('{podSelector: {matchExpressions: [{key: "", operator: Exists}]}}'),
    wantError: names('x/np', 'spec.podSelector.matchExpressions[0].key', 'must not be empty'),
  },
  {
    name: 'unknown field in a selector',
    yaml: np('{podSelector: {matchLabel: {a: b}}}'),
    wantError: names('x/np', 'spec.podSelector.matchLabel', 'unknown field "matchLabel"'),
  },
  {
    name: 'matchLabels value not a string',
    yaml: np('{podSelector: {matchLabels: {enabled: true}}}'),
    wantError: names('x/np', 'spec.podSelector.matchLabels.enabled', 'must be a string'),
  },
];

for (const c of cases) {
  test(c.name, () => {
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
    assert.deepStrictEqual((c.pick ?? only)(got.objects), c.want);
    const wantWarnings = c.wantWarnings ?? [];
    assert.equal(got.warnings.length, wantWarnings.length, `warnings: ${JSON.stringify(got.warnings)}`);
    for (const w of wantWarnings)
      assert.ok(
        got.warnings.some((g) => w.test(g.message) && g.file === 'in.yaml'),
        `no warning ${String(w)}`,
      );
  });
}

test('differently written equal selectors compare equal after JSON.stringify', () => {
  const a = normalizeDocument(
    parse(
      np('{podSelector: {matchLabels: {b: "2", a: "1"}, matchExpressions: [{key: c, operator: In, values: [y, x]}]}}'),
    ) as unknown,
    'a.yaml',
  );
  const b = normalizeDocument(
    parse(
      np(
        '{podSelector: {matchExpressions: [{key: c, operator: In, values: [x, y, x]}, {key: a, operator: In, values: ["1"]}], matchLabels: {b: "2"}}}',
      ),
    ) as unknown,
    'b.yaml',
  );
  assert.equal(JSON.stringify(policyOf(a.objects).podSelector), JSON.stringify(policyOf(b.objects).podSelector));
});

test('errors carry file, object and field as context', () => {
  assert.throws(
    () => normalizeDocument(parse(withPort('{port: 0}')) as unknown, 'in.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.deepStrictEqual(err.context, { file: 'in.yaml', object: 'x/np', field: 'spec.ingress[0].ports[0].port' });
      return true;
    },
  );
});

test('warnings name the object', () => {
  const got = normalizeDocument(parse(np('{podSelector: {}}', 'extensions/v1beta1')) as unknown, 'in.yaml');
  assert.deepStrictEqual(
    got.warnings.map((w) => w.object),
    ['x/np'],
  );
});
