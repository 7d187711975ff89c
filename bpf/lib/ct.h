/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking (sluice_ct) and fragment tracking (sluice_frags).
 *
 * A flow allowed at a hook gets an entry keyed by that hook's direction and
 * the packet's tuple. Later packets of the flow match it (ESTABLISHED); the
 * other side's packets match it with swapped tuple and opposite direction
 * (REPLY). Entries are created on any allowed packet, not only TCP SYN, so
 * flows survive an agent restart or ct eviction when policy still allows them.
 *
 * Established flows survive policy changes that still allow them: each entry
 * records sluice_config.policy_gen; user space bumps the generation after an
 * update that removes allows, and an entry of an older generation is judged
 * again (see sluice_decide in policy.h). Without a bump, entries live on.
 */
#ifndef SLUICE_LIB_CT_H
#define SLUICE_LIB_CT_H

#include "parse.h"

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

/*
 * The entries of a packet's flow as looked up once per packet: fwd is the
 * entry of the packet's own tuple, rev the reply entry (looked up only when
 * fwd is missing, or later when fwd turned out to be expired).
 */
struct sluice_ct_hit {
	struct sluice_ct_value *fwd;
	struct sluice_ct_value *rev;
	int rev_done;
};

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

/* The entry of the packet's tuple (reverse: the reply tuple), or NULL. */
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

static __always_inline void sluice_ct_put(const struct sluice_pkt *p, __u8 dir,
					  const struct sluice_ct_value *v)
{
	if (p->family == SLUICE_FAMILY_V4) {
		struct sluice_ct4_key k;

		sluice_ct4_key_fill(&k, p, dir, 0);
		bpf_map_update_elem(&sluice_ct4, &k, v, BPF_ANY);
	} else {
		struct sluice_ct_key k;

		sluice_ct_key_fill(&k, p, dir, 0);
		bpf_map_update_elem(&sluice_ct, &k, v, BPF_ANY);
	}
}

static __always_inline void sluice_ct_delete(const struct sluice_pkt *p,
					     __u8 dir, int match)
{
	int reverse = match == SLUICE_CT_MATCH_REPLY;

	if (p->family == SLUICE_FAMILY_V4) {
		struct sluice_ct4_key k;

		sluice_ct4_key_fill(&k, p, dir, reverse);
		bpf_map_delete_elem(&sluice_ct4, &k);
	} else {
		struct sluice_ct_key k;

		sluice_ct_key_fill(&k, p, dir, reverse);
		bpf_map_delete_elem(&sluice_ct, &k);
	}
}

/* First lookup of a packet: its own tuple, then (if missing) the reply tuple. */
static __always_inline void sluice_ct_find(const struct sluice_pkt *p,
					   __u8 dir, struct sluice_ct_hit *h)
{
	h->fwd = sluice_ct_get(p, dir, 0);
	h->rev = NULL;
	h->rev_done = 0;
	if (!h->fwd) {
		h->rev = sluice_ct_get(p, dir, 1);
		h->rev_done = 1;
	}
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
	       sluice_ct_closing(v);
}

/*
 * The live entry of the packet's flow, or NULL; *match says which way it
 * matched. An expired entry of the packet's own tuple does not hide a live
 * reply entry. A bare TCP SYN on a closing entry starts a new flow (port
 * reuse).
 */
static __always_inline struct sluice_ct_value *
sluice_ct_lookup(const struct sluice_pkt *p, __u8 dir, __u64 now,
		 struct sluice_ct_hit *h, int *match)
{
	struct sluice_ct_value *v = h->fwd;

	*match = SLUICE_CT_MATCH_NONE;
	if (v && sluice_ct_alive(v, p->protocol, now)) {
		if (sluice_ct_syn_on_closing(p, v))
			return NULL;
		*match = SLUICE_CT_MATCH_ESTABLISHED;
		return v;
	}
	if (!h->rev_done) {
		h->rev = sluice_ct_get(p, dir, 1);
		h->rev_done = 1;
	}
	v = h->rev;
	if (!v || !sluice_ct_alive(v, p->protocol, now))
		return NULL;
	if (sluice_ct_syn_on_closing(p, v))
		return NULL;
	*match = SLUICE_CT_MATCH_REPLY;
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
	struct sluice_ct_value *v = h->fwd ? h->fwd : h->rev;
	__u64 now;

	if (!v || v->policy_gen != gen || !v->endpoint_id ||
	    (v->flags & SLUICE_CT_SERVICE) || sluice_ct_syn_on_closing(p, v))
		return 0;
	now = sluice_now();
	if (!sluice_ct_alive(v, p->protocol, now))
		return 0;
	sluice_ct_touch(v, p,
			h->fwd ? SLUICE_CT_MATCH_ESTABLISHED :
				 SLUICE_CT_MATCH_REPLY,
			now);
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
 */
static __always_inline int sluice_ct_related(struct __sk_buff *skb,
					     const struct sluice_pkt *p,
					     __u8 dir, __u64 now)
{
	struct sluice_pkt in = {};
	struct sluice_ct_hit h;
	int match;

	if (!sluice_parse_inner(skb, p, &in))
		return 0;
	if (!sluice_addr_eq(in.saddr, p->daddr))
		return 0;
	sluice_ct_find(&in, !dir, &h);
	return sluice_ct_lookup(&in, !dir, now, &h, &match) != NULL;
}

static __always_inline void sluice_ct_create(const struct sluice_pkt *p,
					     __u8 dir, __u64 now, __u32 gen,
					     __u32 endpoint_id)
{
	struct sluice_ct_value v = { .last_seen_ns = now,
				     .policy_gen = gen,
				     .endpoint_id = endpoint_id };

	if (p->tcp_flags & SLUICE_TCP_RST)
		v.flags |= SLUICE_CT_RST;
	sluice_ct_put(p, dir, &v);
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
