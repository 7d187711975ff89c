/**
 * A loaded sluice.bpf.o with its maps pinned under a fresh directory
 * /sys/fs/bpf/sluice-test-<pid>-<n> (never /sys/fs/bpf/sluice), filled
 * through the codec from a short table-friendly description.
 */

import { mkdirSync, rmSync } from 'node:fs';

import { isSingleAddress, mapAddr, peerPrefix } from '../../src/datapath/ebpf/addr.js';
import { hostFilterRow } from '../../src/datapath/ebpf/encode.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import { mapDelete, mapUpdate, type MapRef } from '../../src/datapath/ebpf/map-ops.js';
import { BpfObject } from '../../src/datapath/ebpf/object.js';
import { portRangeToPrefixes } from '../../src/datapath/ebpf/port-prefix.js';
import { ensureObject } from './btf-dump.js';

export type Dir = keyof typeof L.DIRECTION;

export interface EndpointRow {
  readonly ip: string;
  readonly id: number;
  readonly isolated?: readonly Dir[];
  /** Directions judged in audit mode (their denies pass as would-deny). */
  readonly audit?: readonly Dir[];
  readonly ingress?: number;
  readonly egress?: number;
}

export interface TupleRow {
  readonly ruleset: number;
  readonly peerClass: number;
  readonly dir: Dir;
  /** Undefined = ANY protocol (and every port); 'PORTLESS' = every protocol without ports (ICMP, ...). */
  readonly proto?: number | 'PORTLESS';
  /** Inclusive; undefined = every port of `proto`. */
  readonly ports?: readonly [number, number];
  readonly policyId?: number;
}

export interface MapSetup {
  readonly endpoints?: readonly EndpointRow[];
  readonly peers?: readonly { readonly cidr: string; readonly peerClass: number }[];
  readonly tuples?: readonly TupleRow[];
  readonly hosts?: readonly string[];
  /** Service CIDRs (sluice_services). */
  readonly services?: readonly string[];
}

let seq = 0;

export class Fixture {
  readonly dir = `/sys/fs/bpf/sluice-test-${process.pid}-${seq++}`;
  private readonly hosts: string[] = [];
  readonly obj: BpfObject;
  readonly fromPod: number;
  readonly toPod: number;

  /** object: another build of the programs (e.g. KCT_OBJECT), same maps. */
  constructor(globals: Readonly<Record<string, Uint8Array>> = {}, object?: string) {
    mkdirSync(this.dir);
    try {
      this.obj = BpfObject.open(ensureObject(object), { pinRoot: this.dir });
      for (const [name, value] of Object.entries(globals)) this.obj.setGlobal(name, value);
      this.obj.load();
      this.fromPod = this.obj.programFd('sluice_from_pod');
      this.toPod = this.obj.programFd('sluice_to_pod');
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  map(spec: L.MapSpec): MapRef {
    return { fd: this.obj.mapFd(spec.name), name: spec.name };
  }

  fill(setup: MapSetup): void {
    for (const e of setup.endpoints ?? []) this.endpoint(e);
    for (const p of setup.peers ?? []) {
      // As the planner writes them: single addresses in the hash, wider prefixes in the trie.
      const prefix = peerPrefix(p.cidr);
      const { family, addr } = prefix;
      const value = L.peerValue.encode({ peerClass: p.peerClass });
      if (isSingleAddress(prefix)) mapUpdate(this.map(L.MAPS.peerAddrs), L.addrKey.encode({ family, addr }), value);
      else mapUpdate(this.map(L.MAPS.peers), L.peerKey.encode(prefix), value);
    }
    for (const t of setup.tuples ?? []) this.tuple(t);
    for (const s of setup.services ?? []) {
      const key = L.peerKey.encode(peerPrefix(s));
      mapUpdate(this.map(L.MAPS.services), key, L.serviceValue.encode({ flags: 0 }));
    }
    for (const h of setup.hosts ?? []) {
      mapUpdate(this.map(L.MAPS.hostAddrs), L.addrKey.encode(mapAddr(h)), L.hostValue.encode({ flags: 0 }));
      this.hosts.push(h);
    }
    // As the planner writes it: the filter over every node address so far.
    mapUpdate(this.map(L.MAPS.hostFilter), ...hostFilterRow(this.hosts));
  }

  endpoint(e: EndpointRow): void {
    const iso = e.isolated ?? [];
    // The trie and ANY-peer lookup flags are always set: rows added later may need them (the planner sets them per rule set).
    const flags =
      (iso.includes('ingress') ? L.ENDPOINT_FLAGS.ingressIsolated : 0) |
      (iso.includes('egress') ? L.ENDPOINT_FLAGS.egressIsolated : 0) |
      ((e.audit ?? []).includes('ingress') ? L.ENDPOINT_FLAGS.ingressAudit : 0) |
      ((e.audit ?? []).includes('egress') ? L.ENDPOINT_FLAGS.egressAudit : 0) |
      L.ENDPOINT_FLAGS.ingressTrie |
      L.ENDPOINT_FLAGS.egressTrie |
      L.ENDPOINT_FLAGS.ingressAnyPeer |
      L.ENDPOINT_FLAGS.egressAnyPeer;
    const value = { endpointId: e.id, ingressRuleset: e.ingress ?? 0, egressRuleset: e.egress ?? 0, flags };
    mapUpdate(this.map(L.MAPS.endpoints), L.addrKey.encode(mapAddr(e.ip)), L.endpoint.encode(value));
  }

  /** One tuple as policy trie rows: ANY, PORTLESS, whole protocol, or port prefixes. */
  tuple(t: TupleRow, remove = false): void {
    const base = { ruleset: t.ruleset, peerClass: t.peerClass, direction: L.DIRECTION[t.dir] };
    const proto = t.proto;
    const rows =
      proto === undefined
        ? [{ ...base, prefixlen: L.PREFIX.policyAny, protocol: 0, dport: 0 }]
        : proto === 'PORTLESS'
          ? [{ ...base, prefixlen: L.PREFIX.policyProtocol, protocol: L.POLICY_PROTOCOL.portless, dport: 0 }]
          : portRangeToPrefixes(t.ports?.[0] ?? 0, t.ports?.[1] ?? 0xffff).map((p) => ({
              ...base,
              prefixlen: L.PREFIX.policyProtocol + p.prefixLen,
              protocol: proto,
              dport: p.value,
            }));
    const flags = proto === undefined ? L.POLICY_FLAGS.anyProtocol : proto === 'PORTLESS' ? L.POLICY_FLAGS.portless : 0;
    const value = L.policyValue.encode({ policyId: t.policyId ?? 1, rule: 0, flags });
    for (const row of rows) {
      // As the planner writes them: a single port in the hash, prefixes in the trie.
      const single = row.prefixlen === L.PREFIX.policyFull;
      const m = this.map(single ? L.MAPS.policyPorts : L.MAPS.policy);
      const key = single ? L.policyPortKey.encode(row) : L.policyKey.encode(row);
      if (remove) mapDelete(m, key);
      else mapUpdate(m, key, value);
    }
  }

  setConfig(c: L.Config): void {
    mapUpdate(this.map(L.MAPS.config), u32(0), L.config.encode(c));
  }

  dispose(): void {
    this.obj?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
