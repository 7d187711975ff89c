/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict: endpoints, node addresses, peer classes and allow tuples,
 * implementing the lookup semantics of src/model/compiled.ts per hook.
 */
#ifndef SLUICE_LIB_POLICY_H
#define SLUICE_LIB_POLICY_H

#include "config.h"
#include "ct.h"
#include "parse.h"

/* Pod addresses on this node. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sluice_addr_key);
	__type(value, struct sluice_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_endpoints SEC(".maps");

/* The node's own addresses: their traffic to pods passes (kubelet probes). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct sluice_addr_key);
	__type(value, struct sluice_host_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_host_addrs SEC(".maps");

/* Key 0: the filter over sluice_host_addrs (struct sluice_host_filter). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_host_filter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_host_filter SEC(".maps");

/*
 * Peer classes of single addresses (pod addresses, /32 and /128 ipBlocks):
 * looked up before sluice_peers, whose trie then holds only wider prefixes.
 * A hash lookup costs the same at 10 or 10,000 pods; a trie walk deepens
 * with every /32 it holds.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_addr_key);
	__type(value, struct sluice_peer_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_peer_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct sluice_peer_key);
	__type(value, struct sluice_peer_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct sluice_policy_key);
	__type(value, struct sluice_policy_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy SEC(".maps");

/* Single-port tuples; see struct sluice_policy_port_key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_policy_port_key);
	__type(value, struct sluice_policy_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy_ports SEC(".maps");

struct sluice_decision {
	__u8 verdict; /* enum sluice_verdict */
	__u8 reason; /* enum sluice_reason */
	__u16 rule;
	__u32 policy_id;
	__u32 peer_class;
};

static __always_inline void sluice_addr_key_fill(struct sluice_addr_key *k,
						 __u8 family, const __u8 *addr)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	__builtin_memcpy(k->addr, addr, 16);
}

static __always_inline struct sluice_endpoint *
sluice_endpoint_lookup(__u8 family, const __u8 *addr)
{
	struct sluice_addr_key k;

	sluice_addr_key_fill(&k, family, addr);
	return bpf_map_lookup_elem(&sluice_endpoints, &k);
}

/* The address's bit in sluice_host_filter: the XOR of its 16 bytes. */
static __always_inline __u32 sluice_host_bit(const __u8 *addr)
{
	__u64 a, b;

	__builtin_memcpy(&a, addr, 8);
	__builtin_memcpy(&b, addr + 8, 8);
	a ^= b;
	a ^= a >> 32;
	a ^= a >> 16;
	a ^= a >> 8;
	return a & 0xff;
}

static __always_inline int sluice_is_host(__u8 family, const __u8 *addr)
{
	const struct sluice_host_filter *f;
	struct sluice_addr_key k;
	__u32 zero = 0, bit = sluice_host_bit(addr);

	f = bpf_map_lookup_elem(&sluice_host_filter, &zero);
	if (f && !(f->bits[(bit >> 3) & 31] & (1 << (bit & 7))))
		return 0;
	sluice_addr_key_fill(&k, family, addr);
	return bpf_map_lookup_elem(&sluice_host_addrs, &k) != NULL;
}

/*
 * The exact address first, then the longest prefix; class 0 (world) when
 * nothing matches. An exact entry is the longest prefix there can be, so
 * the split changes nothing but the cost.
 */
static __always_inline __u32 sluice_peer_class(__u8 family, const __u8 *addr)
{
	struct sluice_peer_value *v;
	struct sluice_peer_key k = {};
	struct sluice_addr_key a;

	sluice_addr_key_fill(&a, family, addr);
	v = bpf_map_lookup_elem(&sluice_peer_addrs, &a);
	if (v)
		return v->peer_class;
	k.prefixlen = SLUICE_PEER_PREFIX_BASE +
		      (family == SLUICE_FAMILY_V4 ? 32 : 128);
	k.family = family;
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&sluice_peers, &k);
	return v ? v->peer_class : 0;
}

/*
 * The tuple for key k: a single port in the hash, then (when the rule set
 * has any) a port range, protocol ANY or PORTLESS in the trie. A port-less
 * key (prefix cut after the protocol) has nothing in the hash.
 */
static __always_inline struct sluice_policy_value *
sluice_policy_find(const struct sluice_policy_key *k, __u32 trie)
{
	struct sluice_policy_value *v = NULL;
	struct sluice_policy_port_key pk;

	if (k->prefixlen == SLUICE_POLICY_PREFIX_FULL) {
		pk.ruleset = k->ruleset;
		pk.peer_class = k->peer_class;
		pk.direction = k->direction;
		pk.protocol = k->protocol;
		pk.dport = k->dport;
		v = bpf_map_lookup_elem(&sluice_policy_ports, &pk);
	}
	if (!v && trie)
		v = bpf_map_lookup_elem(&sluice_policy, k);
	return v;
}

/*
 * Judges one direction of a new flow for endpoint ep: dir is the pod's
 * policy direction, peer the remote address. The tuples of the peer's own
 * class are tried first, then those of SLUICE_PEER_CLASS_ANY. Port-less
 * protocols (ICMP and anything but TCP/UDP/SCTP) are looked up with the
 * prefix cut after the protocol byte, which holds
 * SLUICE_POLICY_PROTO_PORTLESS rather than their own number: ANY and
 * PORTLESS tuples match them, port blocks (longer prefixes) never do.
 */
static __always_inline void sluice_judge(const struct sluice_endpoint *ep,
					 __u8 dir, __u8 family,
					 const __u8 *peer, __u8 protocol,
					 __be16 dport,
					 struct sluice_decision *d)
{
	__u32 isolated = dir == SLUICE_DIR_INGRESS ? SLUICE_EP_INGRESS_ISOLATED :
						     SLUICE_EP_EGRESS_ISOLATED;
	__u32 trie = dir == SLUICE_DIR_INGRESS ? SLUICE_EP_INGRESS_TRIE :
						 SLUICE_EP_EGRESS_TRIE;
	__u32 any = dir == SLUICE_DIR_INGRESS ? SLUICE_EP_INGRESS_ANY_PEER :
						SLUICE_EP_EGRESS_ANY_PEER;
#ifndef SLUICE_BENCH_NO_AUDIT
	__u32 audit = dir == SLUICE_DIR_INGRESS ? SLUICE_EP_INGRESS_AUDIT :
						  SLUICE_EP_EGRESS_AUDIT;
#endif
	struct sluice_policy_value *v;
	struct sluice_policy_key k;

	d->verdict = SLUICE_VERDICT_ALLOW;
	if (!(ep->flags & isolated)) {
		d->reason = SLUICE_REASON_NOT_ISOLATED;
		return;
	}
	d->peer_class = sluice_peer_class(family, peer);
	k.ruleset = bpf_htonl(dir == SLUICE_DIR_INGRESS ? ep->ingress_ruleset :
							 ep->egress_ruleset);
	k.peer_class = bpf_htonl(d->peer_class);
	k.direction = dir;
	if (sluice_has_ports(protocol)) {
		k.prefixlen = SLUICE_POLICY_PREFIX_FULL;
		k.protocol = protocol;
		k.dport = dport;
	} else {
		k.prefixlen = SLUICE_POLICY_PREFIX_PROTOCOL;
		k.protocol = SLUICE_POLICY_PROTO_PORTLESS;
		k.dport = 0;
	}
	v = sluice_policy_find(&k, ep->flags & trie);
	if (!v && (ep->flags & any)) {
		/* Rules without from/to: tuples of the ANY class. */
		k.peer_class = bpf_htonl(SLUICE_PEER_CLASS_ANY);
		v = sluice_policy_find(&k, ep->flags & trie);
	}
	if (!v) {
		/*
		 * Node addresses reach pods (kubelet probes). Checked only for
		 * what policy denies: an allowed flow skips the lookup.
		 */
		if (dir == SLUICE_DIR_INGRESS && sluice_is_host(family, peer)) {
			d->reason = SLUICE_REASON_HOST;
			return;
		}
#ifndef SLUICE_BENCH_NO_AUDIT
		if (ep->flags & audit) {
			d->reason = SLUICE_REASON_WOULD_DENY;
			return;
		}
#endif
		d->verdict = SLUICE_VERDICT_DENY;
		d->reason = SLUICE_REASON_NO_POLICY;
		return;
	}
	d->reason = SLUICE_REASON_POLICY;
	d->policy_id = v->policy_id;
	d->rule = v->rule;
}

/*
 * Decides a non-fragment (or first-fragment) packet at a hook: conntrack
 * first (h: the entry sluice_ct_find already looked up), then policy for
 * new flows. An entry of an older policy generation is judged again as the
 * flow it records (for a reply: the opposite direction and the original
 * dport); when no longer allowed it is kept, marked denied, and drops every
 * packet of the flow until a later generation allows it again. Returns 1
 * when the packet started a new flow.
 */
static __always_inline int sluice_decide(const struct sluice_pkt *p,
					 const struct sluice_endpoint *ep,
					 __u8 dir, const __u8 *peer, __u64 now,
					 __u32 gen, struct sluice_ct_hit *h,
					 struct sluice_decision *d)
{
	struct sluice_ct_value *ct;
	int audited = 0;
	int match;

	ct = sluice_ct_lookup(p, now, h, &match);
	if (!ct) {
		sluice_judge(ep, dir, p->family, peer, p->protocol, p->dport, d);
		if (d->verdict == SLUICE_VERDICT_ALLOW)
			sluice_ct_create(p, dir, now, gen, ep->endpoint_id, h);
		return 1;
	}
	if (ct->policy_gen != gen && !(ct->flags & SLUICE_CT_SERVICE)) {
		if (match == SLUICE_CT_MATCH_REPLY)
			sluice_judge(ep, !dir, p->family, peer, p->protocol,
				     p->sport, d);
		else
			sluice_judge(ep, dir, p->family, peer, p->protocol,
				     p->dport, d);
		ct->policy_gen = gen;
#ifndef SLUICE_BENCH_NO_AUDIT
		audited = d->reason == SLUICE_REASON_WOULD_DENY;
#endif
		if (d->verdict != SLUICE_VERDICT_ALLOW)
			ct->flags |= SLUICE_CT_DENIED;
		else if (ct->flags & SLUICE_CT_DENIED)
			ct->flags &= ~SLUICE_CT_DENIED;
	}
	if (ct->flags & SLUICE_CT_DENIED) {
		d->verdict = SLUICE_VERDICT_DENY;
		d->reason = SLUICE_REASON_REVALIDATE_DENY;
		sluice_ct_touch(ct, p, match, now);
		return 0;
	}
	if (ct->endpoint_id != ep->endpoint_id)
		ct->endpoint_id = ep->endpoint_id;
	d->verdict = SLUICE_VERDICT_ALLOW;
	/* A flow judged again that an audited direction would deny is reported as such. */
	d->reason = audited ? SLUICE_REASON_WOULD_DENY :
		    match == SLUICE_CT_MATCH_REPLY ?
			      SLUICE_REASON_CT_REPLY :
			      SLUICE_REASON_CT_ESTABLISHED;
	sluice_ct_touch(ct, p, match, now);
	return 0;
}

#endif /* SLUICE_LIB_POLICY_H */
