/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the host side of a pod's veth (Ethernet framing).
 * Headers are read in place when they lie in the skb's linear data (the
 * common case, and no helper call), else copied with bpf_skb_load_bytes,
 * which also works on non-linear skbs.
 */
#ifndef SLUICE_LIB_PARSE_H
#define SLUICE_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sluice_maps.h"

/* IPv6 extension headers walked before giving up (MALFORMED). */
#define SLUICE_MAX_EXT_HDRS 6

#define SLUICE_TCP_FIN 0x01
#define SLUICE_TCP_SYN 0x02
#define SLUICE_TCP_RST 0x04
#define SLUICE_TCP_ACK 0x10

enum sluice_parse_rc {
	SLUICE_PARSE_OK = 0,
	SLUICE_PARSE_PASS = 1, /* not ours to judge: non-IP, ARP, IPv6 ND */
	SLUICE_PARSE_MALFORMED = 2,
};

enum sluice_frag_kind {
	SLUICE_FRAG_NONE = 0,
	SLUICE_FRAG_FIRST = 1, /* offset 0, more fragments follow: has L4 */
	SLUICE_FRAG_LATER = 2, /* offset > 0: no L4 header, ports are 0 */
};

/* What the verdict needs from a packet; addresses as in sluice_maps.h. */
struct sluice_pkt {
	__u8 family;
	__u8 protocol;
	__u8 frag; /* enum sluice_frag_kind */
	__u8 tcp_flags;
	__be16 sport; /* ICMP echo: the echo id, in both ports */
	__be16 dport;
	__be32 frag_id;
	/*
	 * ICMP/ICMPv6 errors (destination unreachable, packet too big, time
	 * exceeded, parameter problem): offset of the quoted packet's IP
	 * header; 0 for every other packet.
	 */
	__u16 inner_off;
	__u16 pad; /* addresses 4-byte aligned: whole-word loads and stores */
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline int sluice_has_ports(__u8 protocol)
{
	return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP ||
	       protocol == IPPROTO_SCTP;
}

/*
 * len bytes of header at off: a pointer into the packet when they are in the
 * linear data, else a copy in buf; NULL when the packet is too short.
 */
static __always_inline const void *sluice_hdr(struct __sk_buff *skb, __u32 off,
					      void *buf, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 o = off;

	/*
	 * The verifier gives a packet pointer a range only while its offset
	 * plus the length checked stays within 0xffff: the mask, which clang
	 * may not drop after the barrier, bounds the register that is added.
	 */
	barrier_var(o);
	o &= 0x7fff;
	if (o == off && data + o + len <= end)
		return data + o;
	if (bpf_skb_load_bytes(skb, off, buf, len))
		return NULL;
	return buf;
}

static __always_inline int sluice_parse_l4(struct __sk_buff *skb, __u32 off,
					   struct sluice_pkt *p)
{
	__u8 buf[14];
	const __u8 *h;

	if (p->frag == SLUICE_FRAG_LATER)
		return SLUICE_PARSE_OK;
	if (p->protocol == IPPROTO_TCP) {
		/* sport, dport, seq, ack, offset, flags. */
		h = sluice_hdr(skb, off, buf, 14);
		if (!h)
			return SLUICE_PARSE_MALFORMED;
		__builtin_memcpy(&p->sport, &h[0], 2);
		__builtin_memcpy(&p->dport, &h[2], 2);
		p->tcp_flags = h[13];
		return SLUICE_PARSE_OK;
	}
	if (sluice_has_ports(p->protocol)) {
		/* UDP and SCTP start with sport, dport too. */
		h = sluice_hdr(skb, off, buf, 4);
		if (!h)
			return SLUICE_PARSE_MALFORMED;
		__builtin_memcpy(&p->sport, &h[0], 2);
		__builtin_memcpy(&p->dport, &h[2], 2);
		return SLUICE_PARSE_OK;
	}
	if (p->protocol != IPPROTO_ICMP && p->protocol != IPPROTO_ICMPV6)
		return SLUICE_PARSE_OK;
	/* type, code, checksum, then the echo id. */
	h = sluice_hdr(skb, off, buf, 6);
	if (!h)
		return SLUICE_PARSE_MALFORMED;
	if (p->protocol == IPPROTO_ICMPV6) {
		/* Router/neighbour solicitation/advertisement, redirect. */
		if (h[0] >= 133 && h[0] <= 137)
			return SLUICE_PARSE_PASS;
		if (h[0] >= 1 && h[0] <= 4)
			p->inner_off = off + 8;
		if (h[0] != 128 && h[0] != 129)
			return SLUICE_PARSE_OK;
	} else if (h[0] != 0 && h[0] != 8) {
		if (h[0] == 3 || h[0] == 11 || h[0] == 12)
			p->inner_off = off + 8;
		return SLUICE_PARSE_OK;
	}
	__builtin_memcpy(&p->sport, &h[4], 2);
	p->dport = p->sport;
	return SLUICE_PARSE_OK;
}

static __always_inline int sluice_parse_v4(struct __sk_buff *skb,
					   struct sluice_pkt *p)
{
	const struct iphdr *ip;
	struct iphdr buf;
	__u16 frag;

	ip = sluice_hdr(skb, ETH_HLEN, &buf, sizeof(buf));
	if (!ip)
		return SLUICE_PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return SLUICE_PARSE_MALFORMED;
	p->protocol = ip->protocol;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);
	frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x1fff)
		p->frag = SLUICE_FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = SLUICE_FRAG_FIRST;
	p->frag_id = bpf_htonl(bpf_ntohs(ip->id));
	return sluice_parse_l4(skb, ETH_HLEN + ip->ihl * 4, p);
}

struct sluice_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline int sluice_parse_v6(struct __sk_buff *skb,
					   struct sluice_pkt *p)
{
	struct sluice_ipv6_frag_hdr fh;
	const struct ipv6hdr *ip;
	struct ipv6hdr buf;
	__u32 off = ETH_HLEN + sizeof(buf);
	__u8 next, h[2];
	__u16 frag;
	int i;

	ip = sluice_hdr(skb, ETH_HLEN, &buf, sizeof(buf));
	if (!ip)
		return SLUICE_PARSE_MALFORMED;
	if (ip->version != 6)
		return SLUICE_PARSE_MALFORMED;
	__builtin_memcpy(p->saddr, &ip->saddr, 16);
	__builtin_memcpy(p->daddr, &ip->daddr, 16);
	next = ip->nexthdr;
	for (i = 0; i < SLUICE_MAX_EXT_HDRS; i++) {
		if (next == IPPROTO_FRAGMENT) {
			if (bpf_skb_load_bytes(skb, off, &fh, sizeof(fh)))
				return SLUICE_PARSE_MALFORMED;
			frag = bpf_ntohs(fh.frag_off);
			p->frag_id = fh.id;
			next = fh.nexthdr;
			off += sizeof(fh);
			if (frag & 0xfff8) {
				/* What follows is payload, not headers. */
				p->frag = SLUICE_FRAG_LATER;
				p->protocol = next;
				return SLUICE_PARSE_OK;
			}
			if (frag & 1)
				p->frag = SLUICE_FRAG_FIRST;
			continue;
		}
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS && next != IPPROTO_AH) {
			p->protocol = next;
			return sluice_parse_l4(skb, off, p);
		}
		if (bpf_skb_load_bytes(skb, off, h, 2))
			return SLUICE_PARSE_MALFORMED;
		off += next == IPPROTO_AH ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
		next = h[0];
	}
	return SLUICE_PARSE_MALFORMED; /* too many extension headers */
}

/* The quoted packet's L3 part: 1 when it is an IP header sluice can use. */
static __always_inline int sluice_parse_inner_l3(struct __sk_buff *skb,
						 const struct sluice_pkt *p,
						 struct sluice_pkt *in,
						 __u32 *l4)
{
	__u32 off = p->inner_off;

	if (p->family == SLUICE_FAMILY_V4) {
		const struct iphdr *ip;
		struct iphdr b;

		ip = sluice_hdr(skb, off, &b, sizeof(b));
		if (!ip || ip->version != 4 || ip->ihl < 5 ||
		    (bpf_ntohs(ip->frag_off) & 0x1fff))
			return 0;
		in->protocol = ip->protocol;
		__builtin_memcpy(in->saddr, &ip->saddr, 4);
		__builtin_memcpy(in->daddr, &ip->daddr, 4);
		*l4 = off + ip->ihl * 4;
		return 1;
	} else {
		const struct ipv6hdr *ip;
		struct ipv6hdr b;

		/* Extension headers in the quote are not walked. */
		ip = sluice_hdr(skb, off, &b, sizeof(b));
		if (!ip || ip->version != 6)
			return 0;
		in->protocol = ip->nexthdr;
		__builtin_memcpy(in->saddr, &ip->saddr, 16);
		__builtin_memcpy(in->daddr, &ip->daddr, 16);
		*l4 = off + sizeof(b);
		return 1;
	}
}

/*
 * The packet an ICMP error quotes (its IP header and the first 8 bytes
 * after it, which hold the ports): 1 when *in holds its tuple as it was
 * sent. Quotes of a later fragment, or cut short, give 0.
 */
static __always_inline int sluice_parse_inner(struct __sk_buff *skb,
					      const struct sluice_pkt *p,
					      struct sluice_pkt *in)
{
	__u8 buf[6];
	const __u8 *h;
	__u32 l4 = 0;

	in->family = p->family;
	if (!p->inner_off || !sluice_parse_inner_l3(skb, p, in, &l4))
		return 0;
	if (sluice_has_ports(in->protocol)) {
		h = sluice_hdr(skb, l4, buf, 4);
		if (!h)
			return 0;
		__builtin_memcpy(&in->sport, &h[0], 2);
		__builtin_memcpy(&in->dport, &h[2], 2);
	} else if (in->protocol == IPPROTO_ICMP ||
		   in->protocol == IPPROTO_ICMPV6) {
		/* Only an echo is tracked by its id. */
		h = sluice_hdr(skb, l4, buf, 6);
		if (!h)
			return 0;
		if (h[0] == 0 || h[0] == 8 || h[0] == 128 || h[0] == 129) {
			__builtin_memcpy(&in->sport, &h[4], 2);
			in->dport = in->sport;
		}
	}
	return 1;
}

/*
 * Fills *p from the packet. ARP and every other non-IP ethertype, and IPv6
 * neighbour discovery (ICMPv6 133-137), are PASS: sluice never drops them.
 */
static __always_inline int sluice_parse(struct __sk_buff *skb,
					struct sluice_pkt *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		p->family = SLUICE_FAMILY_V4;
		return sluice_parse_v4(skb, p);
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		p->family = SLUICE_FAMILY_V6;
		return sluice_parse_v6(skb, p);
	}
	return SLUICE_PARSE_PASS;
}

#endif /* SLUICE_LIB_PARSE_H */
