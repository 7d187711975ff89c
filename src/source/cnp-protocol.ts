/**
 * ClusterNetworkPolicy `protocols[]`: "Protocols allows for more fine-grain
 * matching of traffic on protocol-specific attributes such as the port. If
 * unspecified, protocol-specific attributes will not be used to match
 * traffic." Each entry sets exactly one of tcp, udp, sctp (each with a
 * `destinationPort`: a `number` or a `range`) and destinationNamedPort.
 */
import type { CnpPort, Protocol } from '../model/k8s.js';
import { isIanaSvcName } from './policy-port.js';
import { fieldPath, indexPath, type Reader } from './yaml-read.js';

/** MinItems=1, MaxItems=25. */
const MAX_PROTOCOLS = 25;

const PROTOCOL_FIELDS = ['tcp', 'udp', 'sctp', 'destinationNamedPort'] as const;
const PROTOCOL_OF: Readonly<Record<'tcp' | 'udp' | 'sctp', Protocol>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** One entry and where it was written (for the egress rule's named-port check). */
export interface ReadProtocol {
  readonly port: CnpPort;
  /** The field that set it: `…protocols[0].destinationNamedPort`, `…protocols[1].tcp`. */
  readonly field: string;
}

/** Undefined when absent: every protocol and port. */
export function readCnpProtocols(r: Reader, value: unknown, field: string): ReadProtocol[] | undefined {
  const list = r.optList(value, field, 1, MAX_PROTOCOLS, 'protocol');
  return list?.map((v, i) => readProtocol(r, v, indexPath(field, i)));
}

function readProtocol(r: Reader, value: unknown, field: string): ReadProtocol {
  const map = r.record(value, field);
  r.onlyKeys(map, PROTOCOL_FIELDS, field);
  const key = r.exactlyOne(map, PROTOCOL_FIELDS, field, 'a protocol');
  const keyField = fieldPath(field, key);
  if (key === 'destinationNamedPort') return { port: readNamedPort(r, map[key], keyField), field: keyField };
  return { port: readDestinationPort(r, map[key], keyField, PROTOCOL_OF[key]), field: keyField };
}

/**
 * "DestinationNamedPort selects a destination port on a pod based on the
 * ContainerPort name." The CRD takes any string; container port names are
 * IANA_SVC_NAMEs, so any other string matches no port (warned, kept).
 */
function readNamedPort(r: Reader, value: unknown, field: string): CnpPort {
  const name = r.string(value, field);
  if (!isIanaSvcName(name)) {
    r.warn(`${field}: "${name}" is not a valid container port name (IANA_SVC_NAME): it matches no port`);
  }
  return { kind: 'named', name };
}

/**
 * `tcp|udp|sctp: {destinationPort: {number: N} | {range: {start, end}}}`
 * (MinProperties=1 on both levels). "Number defines a network port value"
 * (1..65535); "PortRange defines an inclusive range of ports from the
 * assigned Start value to End value", with "Start port must be less than End port".
 */
function readDestinationPort(r: Reader, value: unknown, field: string, protocol: Protocol): CnpPort {
  const map = r.record(value, field);
  r.onlyKeys(map, ['destinationPort'], field);
  const dpField = fieldPath(field, 'destinationPort');
  if (map['destinationPort'] == null) r.fail(dpField, 'is required');
  const dp = r.record(map['destinationPort'], dpField);
  r.onlyKeys(dp, ['number', 'range'], dpField);
  const key = r.exactlyOne(dp, ['number', 'range'], dpField, 'destinationPort');
  if (key === 'number') {
    const port = r.integer(dp['number'], fieldPath(dpField, 'number'), 1, 65535);
    return { kind: 'number', protocol, port, endPort: port };
  }
  const rangeField = fieldPath(dpField, 'range');
  const range = r.record(dp['range'], rangeField);
  r.onlyKeys(range, ['start', 'end'], rangeField);
  const start = r.integer(range['start'], fieldPath(rangeField, 'start'), 1, 65535);
  const end = r.integer(range['end'], fieldPath(rangeField, 'end'), 1, 65535);
  if (start >= end) r.fail(rangeField, `start ${start} must be less than end ${end}`);
  return { kind: 'number', protocol, port: start, endPort: end };
}
