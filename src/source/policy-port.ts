/**
 * NetworkPolicy `ports[]` entries. "port represents the port on the given
 * protocol. This can either be a numerical or named port on a pod. If this
 * field is not provided, this matches all port names and numbers. If present,
 * only traffic on the specified protocol AND port will be matched."
 */
import { PROTOCOLS, type PortSpec, type Protocol } from '../model/k8s.js';
import { fieldPath, type Reader } from './yaml-read.js';

/** IANA_SVC_NAME: at most 15 lowercase alphanumerics or '-', a letter among them, no leading/trailing/double '-'. */
export function isIanaSvcName(name: string): boolean {
  return (
    name.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--')
  );
}

/** "protocol represents the protocol (TCP, UDP, or SCTP) which traffic must match. If not specified, this field defaults to TCP." */
export function readProtocol(r: Reader, value: unknown, field: string): Protocol {
  return r.oneOf(value, field, PROTOCOLS, 'TCP');
}

type PortValue = { readonly kind: 'number'; readonly port: number } | { readonly kind: 'named'; readonly name: string };

/**
 * An integer, or a string. A string of digits ("8080") is read as that number
 * (the API server would reject it as a port name); any other string must be an
 * IANA_SVC_NAME and names a container port.
 */
function readPortValue(r: Reader, value: unknown, field: string): PortValue {
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) {
    return { kind: 'number', port: r.integer(Number(value), field, 1, 65535) };
  }
  if (typeof value === 'string') {
    if (!isIanaSvcName(value)) {
      r.fail(
        field,
        `invalid port name "${value}" (IANA_SVC_NAME: ≤15 lowercase letters, digits and '-', at least one letter)`,
      );
    }
    return { kind: 'named', name: value };
  }
  return { kind: 'number', port: r.integer(value, field, 1, 65535) };
}

/**
 * "endPort indicates that the range of ports from port to endPort if set,
 * inclusive, should be allowed by the policy. This field cannot be defined if
 * the port field is not defined or if the port field is defined as a named
 * (string) port. The endPort must be equal or greater than port."
 */
export function readPolicyPort(r: Reader, value: unknown, field: string): PortSpec {
  const map = r.record(value, field);
  r.onlyKeys(map, ['protocol', 'port', 'endPort'], field);
  const protocol = readProtocol(r, map['protocol'], fieldPath(field, 'protocol'));
  const endField = fieldPath(field, 'endPort');
  const hasEnd = map['endPort'] != null;
  if (map['port'] == null) {
    if (hasEnd) r.fail(endField, 'endPort requires a numeric port');
    return { kind: 'all-ports', protocol };
  }
  const port = readPortValue(r, map['port'], fieldPath(field, 'port'));
  if (port.kind === 'named') {
    if (hasEnd) r.fail(endField, `endPort cannot be used with named port "${port.name}"`);
    return { kind: 'named', protocol, name: port.name };
  }
  if (!hasEnd) return { kind: 'number', protocol, port: port.port, endPort: port.port };
  const endPort = r.integer(map['endPort'], endField, 1, 65535);
  if (endPort < port.port) r.fail(endField, `endPort ${endPort} is below port ${port.port}`);
  return { kind: 'number', protocol, port: port.port, endPort };
}
