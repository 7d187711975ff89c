/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking (sluice_ct) and fragment tracking (sluice_frags).
 *
 * A flow allowed at a hook gets an entry keyed by that hook's direction and
 * the packet's tuple, in the order struct sluice_ct_key describes: later
 * packets of the flow (ESTABLISHED) and the other side's packets (REPLY)
 * find it with the same single lookup. Entries are created on any allowed
 * packet, not only TCP SYN, so flows survive an agent restart or ct
 * eviction when policy still allows them.
 *
 * Established flows survive policy changes that still allow them: each entry
 * records sluice_config.policy_gen; user space bumps the generation after an
 * update that removes allows, and an entry of an older generation is judged
 * again (see sluice_decide in policy.h). Without a bump, entries live on. A
 * flow judged again and denied keeps its entry, marked SLUICE_CT_DENIED, so
 * that both sides' packets keep being dropped.
 */
#ifndef SLUICE_LIB_CT_H
#define SLUICE_LIB_CT_H

#include "parse.h"
#ifdef SLUICE_CT_KERNEL
#include "kct.h"
#endif

#define SLUICE_NSEC 1000000000ULL

/*
 * The clock of ct entries, fragments and the event bucket: CLOCK_MONOTONIC
 * at tick resolution. bpf_ktime_get_coarse_ns costs a few ns where the
 * precise clock costs tens (a clock-source read, slow in a VM); every
 * timeout here is seconds long, so a tick does not matter.
 */
static __always_inline __u64 sluice_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Timeouts; set before load. */
const volatile __u64 ct_timeout_tcp_ns = 6 * 3600 * SLUICE_NSEC;
const volatile __u64 ct_timeout_closing_ns = 10 * SLUICE_NSEC;
const volatile __u64 ct_timeout_other_ns = 60 * SLUICE_NSEC;
const volatile __u64 frag_timeout_ns = 30 * SLUICE_NSEC;

/* User space may resize both with bpf_map__set_max_entries before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_ct_key);
	__type(value, struct sluice_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_ct4_key);
	__type(value, struct sluice_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sluice_frag_key);
	__type(value, struct sluice_frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_frags SEC(".maps");

enum sluice_ct_match {
	SLUICE_CT_MATCH_NONE = 0,
	SLUICE_CT_MATCH_ESTABLISHED = 1,
	SLUICE_CT_MATCH_REPLY = 2,
};

/* The entry of a packet's flow, as looked up once per packet. */
struct sluice_ct_hit {
	struct sluice_ct_value *v; /* under the flow's key, or NULL */
	int reversed; /* the key holds the packet's tuple reversed */
};

/*
 * Whether the packet's source (address, then port) sorts after its
 * destination, both as big-endian numbers: then its key is stored reversed.
 */
static __always_inline int sluice_ct_reversed(const struct sluice_pkt *p)
{
	if (p->family == SLUICE_FAMILY_V4) {
		__u32 s, d;

		__builtin_memcpy(&s, p->saddr, 4);
		__builtin_memcpy(&d, p->daddr, 4);
		if (s != d)
			return bpf_ntohl(s) > bpf_ntohl(d);
	} else {
		__u64 s0, s1, d0, d1;

		__builtin_memcpy(&s0, p->saddr, 8);
		__builtin_memcpy(&s1, p->saddr + 8, 8);
		__builtin_memcpy(&d0, p->daddr, 8);
		__builtin_memcpy(&d1, p->daddr + 8, 8);
		if (s0 != d0)
			return bpf_be64_to_cpu(s0) > bpf_be64_to_cpu(d0);
		if (s1 != d1)
			return bpf_be64_to_cpu(s1) > bpf_be64_to_cpu(d1);
	}
	return bpf_ntohs(p->sport) > bpf_ntohs(p->dport);
}

static __always_inline void sluice_ct4_key_fill(struct sluice_ct4_key *k,
						const struct sluice_pkt *p,
						__u8 dir, int reverse)
{
	k->protocol = p->protocol;
	k->direction = reverse ? !dir : dir;
	k->pad[0] = 0;
	k->pad[1] = 0;
	if (reverse) {
		k->sport = p->dport;
		k->dport = p->sport;
		__builtin_memcpy(k->saddr, p->daddr, 4);
		__builtin_memcpy(k->daddr, p->saddr, 4);
	} else {
		k->sport = p->sport;
		k->dport = p->dport;
		__builtin_memcpy(k->saddr, p->saddr, 4);
		__builtin_memcpy(k->daddr, p->daddr, 4);
	}
}

static __always_inline void sluice_ct_key_fill(struct sluice_ct_key *k,
					       const struct sluice_pkt *p,
					       __u8 dir, int reverse)
{
	k->family = p->family;
	k->protocol = p->protocol;
	k->direction = reverse ? !dir : dir;
	k->pad = 0;
	if (reverse) {
		k->sport = p->dport;
		k->dport = p->sport;
		__builtin_memcpy(k->saddr, p->daddr, 16);
		__builtin_memcpy(k->daddr, p->saddr, 16);
	} else {
		k->sport = p->sport;
		k->dport = p->dport;
		__builtin_memcpy(k->saddr, p->saddr, 16);
		__builtin_memcpy(k->daddr, p->daddr, 16);
	}
}

/* The entry under the packet's key, stored reversed or not. */
static __always_inline struct sluice_ct_value *
sluice_ct_get(const struct sluice_pkt *p, __u8 dir, int reverse)
{
	if (p->family == SLUICE_FAMILY_V4) {
		struct sluice_ct4_key k;

		sluice_ct4_key_fill(&k, p, dir, reverse);
		return bpf_map_lookup_elem(&sluice_ct4, &k);
	} else {
		struct sluice_ct_key k;

		sluice_ct_key_fill(&k, p, dir, reverse);
		return bpf_map_lookup_elem(&sluice_ct, &k);
	}
}

/*
 * Writes the flow's entry. A key already there (a closed or expired flow on
 * the same tuple: port reuse) is rewritten in place, which spares the LRU
 * the replacement of its element.
 */
static __always_inline void sluice_ct_put(const struct sluice_pkt *p, __u8 dir,
					  const struct sluice_ct_hit *h,
					  const struct sluice_ct_value *v)
{
	if (h->v) {
		*h->v = *v;
	} else if (p->family == SLUICE_FAMILY_V4) {
		struct sluice_ct4_key k;

		sluice_ct4_key_fill(&k, p, dir, h->reversed);
		bpf_map_update_elem(&sluice_ct4, &k, v, BPF_ANY);
	} else {
		struct sluice_ct_key k;

		sluice_ct_key_fill(&k, p, dir, h->reversed);
		bpf_map_update_elem(&sluice_ct, &k, v, BPF_ANY);
	}
}

/*
 * IPv4: the order test and the key in one pass, without branches on the
 * order (each field is picked with a mask): this is the whole cost of an
 * established packet besides the lookup itself.
 */
static __always_inline void sluice_ct4_find(const struct sluice_pkt *p,
					    __u8 dir, struct sluice_ct_hit *h)
{
	struct sluice_ct4_key k;
	__u32 s, d, hs, hd, m, x;
	__u16 sp = p->sport, dp = p->dport, xp;
	int rev;

	__builtin_memcpy(&s, p->saddr, 4);
	__builtin_memcpy(&d, p->daddr, 4);
	hs = bpf_ntohl(s);
	hd = bpf_ntohl(d);
	rev = hs != hd ? hs > hd : bpf_ntohs(sp) > bpf_ntohs(dp);
	m = -(__u32)rev;
	x = (s ^ d) & m;
	xp = (sp ^ dp) & (__u16)m;
	s ^= x;
	d ^= x;
	__builtin_memcpy(k.saddr, &s, 4);
	__builtin_memcpy(k.daddr, &d, 4);
	k.sport = sp ^ xp;
	k.dport = dp ^ xp;
	k.protocol = p->protocol;
	k.direction = dir ^ rev;
	k.pad[0] = 0;
	k.pad[1] = 0;
	h->reversed = rev;
	h->v = bpf_map_lookup_elem(&sluice_ct4, &k);
}

/* The lookup of a packet's flow, for both families alike. */
static __always_inline void sluice_ct_find_any(const struct sluice_pkt *p,
					       __u8 dir,
					       struct sluice_ct_hit *h)
{
	h->reversed = sluice_ct_reversed(p);
	h->v = sluice_ct_get(p, dir, h->reversed);
}

/*
 * The one lookup of a packet's flow. The empty asm keeps clang from
 * merging the two families' lookups into one call with the map in a
 * register: the verifier inlines a lookup only when a single map reaches
 * the call, and the helper call it leaves otherwise costs an established
 * packet about 9 ns.
 */
static __always_inline void sluice_ct_find(const struct sluice_pkt *p,
					   __u8 dir, struct sluice_ct_hit *h)
{
	if (p->family == SLUICE_FAMILY_V4) {
		sluice_ct4_find(p, dir, h);
	} else {
		sluice_ct_find_any(p, dir, h);
		asm volatile("");
	}
}

/* ESTABLISHED when the packet is oriented like the flow's first packet. */
static __always_inline int sluice_ct_match(const struct sluice_ct_value *v,
					   const struct sluice_ct_hit *h)
{
	int orig_reversed = (v->flags & SLUICE_CT_ORIG_REVERSED) != 0;

	return orig_reversed == h->reversed ? SLUICE_CT_MATCH_ESTABLISHED :
					      SLUICE_CT_MATCH_REPLY;
}

/* The flags a new entry starts with. */
static __always_inline __u32 sluice_ct_new_flags(const struct sluice_pkt *p,
						 const struct sluice_ct_hit *h)
{
	__u32 flags = h->reversed ? SLUICE_CT_ORIG_REVERSED : 0;

	if (p->tcp_flags & SLUICE_TCP_RST)
		flags |= SLUICE_CT_RST;
	return flags;
}

static __always_inline int sluice_ct_closing(const struct sluice_ct_value *v)
{
	__u32 fin = SLUICE_CT_FIN_FWD | SLUICE_CT_FIN_REV;

	return (v->flags & SLUICE_CT_RST) || (v->flags & fin) == fin;
}

static __always_inline __u64 sluice_ct_timeout(const struct sluice_ct_value *v,
					       __u8 protocol)
{
	if (protocol == IPPROTO_TCP)
		return sluice_ct_closing(v) ? ct_timeout_closing_ns :
					      ct_timeout_tcp_ns;
	return ct_timeout_other_ns;
}

static __always_inline int sluice_ct_alive(const struct sluice_ct_value *v,
					   __u8 protocol, __u64 now)
{
	/* Signed: an entry stamped by user space may be a tick ahead. */
	return (__s64)(now - v->last_seen_ns) <
	       (__s64)sluice_ct_timeout(v, protocol);
}

static __always_inline int sluice_ct_syn_on_closing(const struct sluice_pkt *p,
						    const struct sluice_ct_value *v)
{
	return (p->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) ==
		       SLUICE_TCP_SYN &&
	       (sluice_ct_closing(v) || (v->flags & SLUICE_CT_DENIED));
}

/*
 * The live entry of the packet's flow, or NULL; *match says which way it
 * matched. A bare TCP SYN on a closing or denied entry starts a new flow
 * (port reuse).
 */
static __always_inline struct sluice_ct_value *
sluice_ct_lookup(const struct sluice_pkt *p, __u64 now,
		 const struct sluice_ct_hit *h, int *match)
{
	struct sluice_ct_value *v = h->v;

	*match = SLUICE_CT_MATCH_NONE;
	if (!v || !sluice_ct_alive(v, p->protocol, now) ||
	    sluice_ct_syn_on_closing(p, v))
		return NULL;
	*match = sluice_ct_match(v, h);
	return v;
}

/*
 * Records TCP teardown and refreshes last_seen (at most once a second, so
 * that the entry's cache line is not written on every packet).
 */
static __always_inline void sluice_ct_touch(struct sluice_ct_value *v,
					    const struct sluice_pkt *p,
					    int match, __u64 now)
{
	__u32 flags = v->flags;
	int reply = match == SLUICE_CT_MATCH_REPLY;

	if (reply)
		flags |= SLUICE_CT_SEEN_REPLY;
	if (p->tcp_flags & SLUICE_TCP_RST)
		flags |= SLUICE_CT_RST;
	if (p->tcp_flags & SLUICE_TCP_FIN)
		flags |= reply ? SLUICE_CT_FIN_REV : SLUICE_CT_FIN_FWD;
	if (flags != v->flags)
		v->flags = flags;
	if ((__s64)(now - v->last_seen_ns) > (__s64)SLUICE_NSEC)
		v->last_seen_ns = now;
}

/*
 * The established fast path: the packet belongs to a live flow allowed
 * under the current policy generation, so nothing but the ct entry is
 * needed (no endpoint, peer or policy lookup). It takes only entries the
 * full path would accept the same way: not a bare SYN on a closing flow,
 * not a service entry, endpoint known. Returns the endpoint id to count the
 * packet for, 0 for the full path.
 */
static __always_inline __u32 sluice_ct_fast(const struct sluice_pkt *p,
					    const struct sluice_ct_hit *h,
					    __u32 gen)
{
	struct sluice_ct_value *v = h->v;
	__u64 now;

	if (!v || v->policy_gen != gen || !v->endpoint_id ||
	    (v->flags & (SLUICE_CT_SERVICE | SLUICE_CT_DENIED)) ||
	    sluice_ct_syn_on_closing(p, v))
		return 0;
	now = sluice_now();
	if (!sluice_ct_alive(v, p->protocol, now))
		return 0;
	sluice_ct_touch(v, p, sluice_ct_match(v, h), now);
	return v->endpoint_id;
}

static __always_inline int sluice_addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/*
 * An ICMP error about a flow this pod's hooks track (RELATED): its quoted
 * packet was sent by the side the error goes back to, and passed this
 * pod's other hook, so it matches there as established or reply. Lets path
 * MTU discovery and port-unreachable answers through isolated pods without
 * an ICMP rule, as the kernel's conntrack does.
 *
 * A global function, not inlined: the verifier checks it once, on its own,
 * instead of once for every state the calling program reaches it in. Its
 * inner parse and its lookup, whose key order is unknown to the verifier,
 * multiplied those states: inlined, it was more than half of the object's
 * load time. Only ICMP errors pay the call. p may be NULL to the verifier.
 */
__attribute__((noinline)) int sluice_ct_related(struct __sk_buff *skb,
						const struct sluice_pkt *p,
						__u32 dir, __u64 now)
{
	struct sluice_pkt in = {};
	struct sluice_ct_value *v;
	struct sluice_ct_hit h;
	int match;

	if (!p)
		return 0;
	if (!sluice_parse_inner(skb, p, &in))
		return 0;
	if (!sluice_addr_eq(in.saddr, p->daddr))
		return 0;
#ifdef SLUICE_CT_KERNEL
	if (sluice_kct_tracks(in.protocol) &&
	    sluice_kct_related(skb, &in, dir))
		return 1;
#endif
	/*
	 * Not sluice_ct_find: clang would merge its IPv4 code with the
	 * established path's and slow that down with spills; this is rare.
	 */
	sluice_ct_find_any(&in, !dir, &h);
	v = sluice_ct_lookup(&in, now, &h, &match);
	return v && !(v->flags & SLUICE_CT_DENIED);
}

static __always_inline void sluice_ct_create(const struct sluice_pkt *p,
					     __u8 dir, __u64 now, __u32 gen,
					     __u32 endpoint_id,
					     const struct sluice_ct_hit *h)
{
	struct sluice_ct_value v = { .last_seen_ns = now,
				     .flags = sluice_ct_new_flags(p, h),
				     .policy_gen = gen,
				     .endpoint_id = endpoint_id };

	sluice_ct_put(p, dir, h, &v);
}

static __always_inline void sluice_frag_key_fill(struct sluice_frag_key *k,
						 const struct sluice_pkt *p,
						 __u8 dir)
{
	k->family = p->family;
	k->protocol = p->protocol;
	k->direction = dir;
	k->pad = 0;
	k->id = p->frag_id;
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
}

/*
 * Fragments: a first fragment is judged like any packet (it carries the
 * ports) and, when allowed, recorded here. A later fragment passes only if
 * its datagram's first fragment was allowed at this hook within
 * frag_timeout_ns; later fragments arriving before the first are dropped.
 */
static __always_inline void sluice_frag_record(const struct sluice_pkt *p,
					       __u8 dir, __u64 now)
{
	struct sluice_frag_value v = { .first_seen_ns = now };
	struct sluice_frag_key k;

	sluice_frag_key_fill(&k, p, dir);
	bpf_map_update_elem(&sluice_frags, &k, &v, BPF_ANY);
}

static __always_inline int sluice_frag_allowed(const struct sluice_pkt *p,
					       __u8 dir, __u64 now)
{
	struct sluice_frag_value *v;
	struct sluice_frag_key k;

	sluice_frag_key_fill(&k, p, dir);
	v = bpf_map_lookup_elem(&sluice_frags, &k);
	return v && (__s64)(now - v->first_seen_ns) < (__s64)frag_timeout_ns;
}

#endif /* SLUICE_LIB_CT_H */
