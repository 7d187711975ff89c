/**
 * Pods: only the fields policy needs are read (and validated); every other
 * field is ignored.
 */
import ipaddr from 'ipaddr.js';
import type { ContainerPort, Labels, Pod, PodPhase } from '../model/k8s.js';
import { parseIp } from './ip.js';
import { isIanaSvcName, readProtocol } from './policy-port.js';
import { fieldPath, indexPath, type JsonRecord, type Reader } from './yaml-read.js';

const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

export interface PodMeta {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

export function readPod(r: Reader, doc: JsonRecord, meta: PodMeta): Pod {
  const spec = r.optRecord(doc['spec'], 'spec') ?? {};
  const status = r.optRecord(doc['status'], 'status') ?? {};
  return {
    ...meta,
    nodeName: r.optString(spec['nodeName'], 'spec.nodeName'),
    hostNetwork: r.optBoolean(spec['hostNetwork'], 'spec.hostNetwork') ?? false,
    // A manifest written by hand rarely has a status; such a pod is taken as
    // Running, so that `simulate` works on plain manifests with IPs filled in.
    phase: r.oneOf(status['phase'], 'status.phase', PHASES, 'Running'),
    ips: readPodIps(r, status),
    containerPorts: readContainerPorts(r, spec),
  };
}

/**
 * `status.podIP` and `status.podIPs[].ip`, merged: canonical text, duplicates
 * dropped, IPv4 before IPv6, otherwise in written order. An IPv4-mapped IPv6
 * address (`::ffff:10.0.0.1`) is read as the IPv4 address.
 */
function readPodIps(r: Reader, status: JsonRecord): string[] {
  const written: [string, string][] = [];
  const single = r.optString(status['podIP'], 'status.podIP');
  if (single !== undefined && single !== '') written.push([single, 'status.podIP']);
  const list = r.optArray(status['podIPs'], 'status.podIPs') ?? [];
  list.forEach((entry, i) => {
    const path = indexPath('status.podIPs', i);
    const item = r.record(entry, path);
    written.push([r.string(item['ip'], fieldPath(path, 'ip')), fieldPath(path, 'ip')]);
  });
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [text, path] of written) {
    const ip = parseIp(text);
    if (ip === undefined) r.fail(path, `invalid IP address "${text}"`);
    let address = ip.address;
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      address = (address as ipaddr.IPv6).toIPv4Address();
    }
    const canonical = address.toString();
    const bucket = address.kind() === 'ipv4' ? v4 : v6;
    if (!bucket.includes(canonical)) bucket.push(canonical);
  }
  return [...v4, ...v6];
}

/**
 * `spec.containers[].ports[]`. Init containers are not read: named ports of
 * restartable init containers (sidecars) are not resolved.
 */
function readContainerPorts(r: Reader, spec: JsonRecord): ContainerPort[] {
  const ports: ContainerPort[] = [];
  const containers = r.optArray(spec['containers'], 'spec.containers') ?? [];
  containers.forEach((c, i) => {
    const cPath = indexPath('spec.containers', i);
    const container = r.record(c, cPath);
    const pPath = fieldPath(cPath, 'ports');
    const list = r.optArray(container['ports'], pPath) ?? [];
    list.forEach((p, j) => ports.push(readContainerPort(r, p, indexPath(pPath, j))));
  });
  return ports;
}

function readContainerPort(r: Reader, value: unknown, field: string): ContainerPort {
  const map = r.record(value, field);
  const nameField = fieldPath(field, 'name');
  const name = r.optString(map['name'], nameField);
  if (name !== undefined && !isIanaSvcName(name)) {
    r.fail(
      nameField,
      `invalid port name "${name}" (IANA_SVC_NAME: ≤15 lowercase letters, digits and '-', at least one letter)`,
    );
  }
  return {
    name,
    port: r.integer(map['containerPort'], fieldPath(field, 'containerPort'), 1, 65535),
    protocol: readProtocol(r, map['protocol'], fieldPath(field, 'protocol')),
  };
}
