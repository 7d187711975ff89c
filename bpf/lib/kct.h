/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's connection tracking as sluice's flow state (the object built
 * with SLUICE_CT_KERNEL, bpf/sluice_kct.bpf.c): TCP and UDP flows are looked
 * up in nf_conntrack through the conntrack kfuncs, and the verdict of each
 * side of a flow is remembered in the conntrack entry's mark. A new flow
 * writes nothing of sluice's own; sluice_ct keeps what nf_conntrack cannot
 * track (ICMP, SCTP, fragments) and what it does not (untracked flows).
 *
 * A flow has two sides, each judged at its own hook:
 *   E  the originator's egress, at sluice_from_pod of the original source;
 *   I  the responder's ingress, at sluice_to_pod of the original (post-DNAT)
 *      destination.
 * Every packet depends on one side: the originator's packets and the
 * replies it receives on E, the responder's on I. Each side owns one byte
 * of the mark (E at ct_mark_shift + 8, I at ct_mark_shift): 0 = not judged
 * yet, else the policy generation it was judged under (1..127, see
 * sluice_kct_gen) and SLUICE_KCT_DENIED when it was denied. A byte of an
 * older generation is judged again, so a policy change reaches open flows.
 *
 * Hooks and tuples: sluice_from_pod runs before the host's netfilter, so it
 * sees a packet as the pod sent it, which is a tuple of the entry as it is;
 * sluice_to_pod runs after it (NATed, and confirmed), so the packet's tuple
 * reversed is one of the entry's. The first packet of a flow finds nothing
 * at sluice_from_pod: nf_conntrack creates the entry after the hook.
 */
#ifndef SLUICE_LIB_KCT_H
#define SLUICE_LIB_KCT_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "parse.h"

/* Set before load: where the two side bytes sit in the conntrack mark. */
const volatile __u32 ct_mark_shift = 16;

#define SLUICE_KCT_DENIED 0x80
#define SLUICE_KCT_GEN_MASK 0x7f
#define SLUICE_KCT_SIDE_E 8 /* the E byte's offset above ct_mark_shift */
#define SLUICE_KCT_SIDE_I 0

/* The kernel's types, as far as sluice reads them (CO-RE relocated). */
union nf_inet_addr___sluice {
	__u32 all[4];
	__be32 ip;
	__be32 ip6[4];
} __attribute__((preserve_access_index));

union nf_conntrack_man_proto___sluice {
	__be16 all;
} __attribute__((preserve_access_index));

struct nf_conntrack_man___sluice {
	union nf_inet_addr___sluice u3;
	union nf_conntrack_man_proto___sluice u;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple___sluice {
	struct nf_conntrack_man___sluice src;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple_hash___sluice {
	struct nf_conntrack_tuple___sluice tuple;
} __attribute__((preserve_access_index));

struct nf_conn {
	struct nf_conntrack_tuple_hash___sluice tuplehash[2];
	__u32 mark;
} __attribute__((preserve_access_index));

/* The kfuncs' options (NF_BPF_CT_OPTS_SZ = 12: no zone). */
struct bpf_ct_opts___sluice {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz,
					 struct bpf_ct_opts___sluice *opts,
					 __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

#define SLUICE_KCT_DIR_ORIGINAL 0

static __always_inline int sluice_kct_tracks(__u8 protocol)
{
	return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP;
}

/* The generation as a side byte stores it: 1..127. */
static __always_inline __u8 sluice_kct_gen(__u32 gen)
{
	return (__u8)(gen % SLUICE_KCT_GEN_MASK) + 1;
}

/*
 * The entry of the packet's tuple (reversed when reverse is set), or NULL;
 * *orig says whether the packet travels the entry's original direction
 * (the tuple looked up is the original one, or its reply reversed). The caller
 * releases a non-NULL result with bpf_ct_release.
 */
static __always_inline struct nf_conn *
sluice_kct_lookup(struct __sk_buff *skb, const struct sluice_pkt *p,
		  int reverse, int *orig)
{
	struct bpf_ct_opts___sluice o = { .netns_id = -1,
					  .l4proto = p->protocol };
	const __u8 *s = reverse ? p->daddr : p->saddr;
	const __u8 *d = reverse ? p->saddr : p->daddr;
	struct bpf_sock_tuple t = {};
	struct nf_conn *ct;
	__u32 size;

	if (p->family == SLUICE_FAMILY_V4) {
		__builtin_memcpy(&t.ipv4.saddr, s, 4);
		__builtin_memcpy(&t.ipv4.daddr, d, 4);
		t.ipv4.sport = reverse ? p->dport : p->sport;
		t.ipv4.dport = reverse ? p->sport : p->dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, s, 16);
		__builtin_memcpy(t.ipv6.daddr, d, 16);
		t.ipv6.sport = reverse ? p->dport : p->sport;
		t.ipv6.dport = reverse ? p->sport : p->dport;
		size = sizeof(t.ipv6);
	}
	ct = bpf_skb_ct_lookup(skb, &t, size, &o, sizeof(o));
	*orig = (o.dir == SLUICE_KCT_DIR_ORIGINAL) != reverse;
	return ct;
}

static __always_inline __u8 sluice_kct_side(const struct nf_conn *ct,
					    __u32 side)
{
	return (ct->mark >> (ct_mark_shift + side)) & 0xff;
}

static __always_inline void sluice_kct_set_side(struct nf_conn *ct,
						__u32 side, __u8 byte)
{
	__u32 shift = ct_mark_shift + side;
	__u32 mark = ct->mark;
	__u32 next = (mark & ~(0xffU << shift)) | ((__u32)byte << shift);

	if (next != mark)
		ct->mark = next;
}

/*
 * Whether an ICMP error quoting packet in (TCP or UDP) is about a flow the
 * kernel tracks with neither side denied. The quote was sent by the pod
 * the error goes to, the other way through this pod's hooks: as it stands
 * at sluice_to_pod, reversed at sluice_from_pod.
 */
static __always_inline int sluice_kct_related(struct __sk_buff *skb,
					      const struct sluice_pkt *in,
					      __u32 dir)
{
	struct nf_conn *ct;
	int orig, ok;

	ct = sluice_kct_lookup(skb, in, dir != SLUICE_DIR_INGRESS, &orig);
	if (!ct)
		return 0;
	ok = !((sluice_kct_side(ct, SLUICE_KCT_SIDE_E) |
		sluice_kct_side(ct, SLUICE_KCT_SIDE_I)) &
	       SLUICE_KCT_DENIED);
	bpf_ct_release(ct);
	return ok;
}

#endif /* SLUICE_LIB_KCT_H */
