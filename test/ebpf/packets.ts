/**
 * Crafted frames for BPF_PROG_TEST_RUN: Ethernet + IPv4/IPv6 (+ extension
 * headers, fragments) + TCP/UDP/SCTP/ICMP/ICMPv6, ARP. Checksums are left 0:
 * the program never checks them and test runs do not either.
 */

import ipaddr from 'ipaddr.js';

export const PROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
export const TCP = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;
const ETH_P = { ip: 0x0800, arp: 0x0806, ipv6: 0x86dd } as const;

export interface PacketSpec {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly tcpFlags?: number;
  /** ICMP / ICMPv6 type; echo types carry `icmpId`. */
  readonly icmpType?: number;
  readonly icmpId?: number;
  /** Fragment: offset in 8-byte units; `more` = MF flag. */
  readonly frag?: { readonly id: number; readonly offset: number; readonly more: boolean };
  /** IPv6 extension headers (hop-by-hop 0, routing 43, dest options 60) before the L4 header. */
  readonly ext?: readonly number[];
  /** ICMP / ICMPv6 error types: the packet quoted after the 8-byte header (IP header and 8 bytes). */
  readonly quote?: PacketSpec;
}

function ether(type: number): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(h, 0);
  h.writeUInt16BE(type, 12);
  return h;
}

function l4(spec: PacketSpec): Buffer {
  switch (spec.proto) {
    case PROTO.tcp: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(spec.sport ?? 0, 0);
      h.writeUInt16BE(spec.dport ?? 0, 2);
      h[12] = 5 << 4;
      h[13] = spec.tcpFlags ?? TCP.syn;
      return h;
    }
    case PROTO.udp:
    case PROTO.sctp: {
      const h = Buffer.alloc(spec.proto === PROTO.udp ? 8 : 12);
      h.writeUInt16BE(spec.sport ?? 0, 0);
      h.writeUInt16BE(spec.dport ?? 0, 2);
      if (spec.proto === PROTO.udp) h.writeUInt16BE(8 + 16, 4);
      return h;
    }
    case PROTO.icmp:
    case PROTO.icmpv6: {
      const h = Buffer.alloc(8);
      h[0] = spec.icmpType ?? (spec.proto === PROTO.icmp ? 8 : 128);
      h.writeUInt16BE(spec.icmpId ?? 0, 4);
      if (spec.quote === undefined) return h;
      // As routers quote: the IP header and the first 8 bytes of what follows.
      const inner = packet(spec.quote).subarray(14);
      const ipLen = ipaddr.parse(spec.quote.src).kind() === 'ipv4' ? 20 : 40;
      return Buffer.concat([h, inner.subarray(0, ipLen + 8)]);
    }
    default:
      return Buffer.alloc(8);
  }
}

function ipv4(spec: PacketSpec, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  if (spec.frag !== undefined) {
    h.writeUInt16BE(spec.frag.id & 0xffff, 4);
    h.writeUInt16BE((spec.frag.more ? 0x2000 : 0) | spec.frag.offset, 6);
  }
  h[8] = 64;
  h[9] = spec.proto;
  Buffer.from(ipaddr.parse(spec.src).toByteArray()).copy(h, 12);
  Buffer.from(ipaddr.parse(spec.dst).toByteArray()).copy(h, 16);
  return Buffer.concat([ether(ETH_P.ip), h, payload]);
}

function ipv6(spec: PacketSpec, payload: Buffer): Buffer {
  const chain = [...(spec.ext ?? [])];
  const headers: Buffer[] = [];
  if (spec.frag !== undefined) chain.push(44);
  const next = [...chain.slice(1), spec.proto];
  chain.forEach((type, i) => {
    const h = Buffer.alloc(8);
    h[0] = next[i] ?? spec.proto;
    if (type === 44 && spec.frag !== undefined) {
      h.writeUInt16BE((spec.frag.offset << 3) | (spec.frag.more ? 1 : 0), 2);
      h.writeUInt32BE(spec.frag.id, 4);
    }
    headers.push(h);
  });
  const body = Buffer.concat([...headers, payload]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = chain[0] ?? spec.proto;
  h[7] = 64;
  Buffer.from(ipaddr.parse(spec.src).toByteArray()).copy(h, 8);
  Buffer.from(ipaddr.parse(spec.dst).toByteArray()).copy(h, 24);
  return Buffer.concat([ether(ETH_P.ipv6), h, body]);
}

/** An IP packet; a later fragment (offset > 0) carries only payload bytes. */
export function packet(spec: PacketSpec): Buffer {
  const later = spec.frag !== undefined && spec.frag.offset > 0;
  const payload = Buffer.concat([later ? Buffer.alloc(0) : l4(spec), spec.quote ? Buffer.alloc(0) : Buffer.alloc(16)]);
  return ipaddr.parse(spec.src).kind() === 'ipv4' ? ipv4(spec, payload) : ipv6(spec, payload);
}

export function arp(): Buffer {
  const body = Buffer.alloc(28);
  body.writeUInt16BE(1, 0); // Ethernet
  body.writeUInt16BE(ETH_P.ip, 2);
  body[4] = 6;
  body[5] = 4;
  body.writeUInt16BE(1, 6); // request
  return Buffer.concat([ether(ETH_P.arp), body]);
}

/** The reply direction of a spec: addresses and ports swapped. */
export function reverse(spec: PacketSpec, tcpFlags?: number): PacketSpec {
  const r: PacketSpec = { ...spec, src: spec.dst, dst: spec.src, sport: spec.dport ?? 0, dport: spec.sport ?? 0 };
  return tcpFlags === undefined ? r : { ...r, tcpFlags };
}
