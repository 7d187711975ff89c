// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice tc programs, attached on the HOST side of each pod's veth:
 *   sluice_from_pod  tc ingress of the host veth = packets leaving the pod
 *                    = the pod's EGRESS policy (endpoint = source address);
 *   sluice_to_pod    tc egress of the host veth = packets entering the pod
 *                    = the pod's INGRESS policy (endpoint = destination).
 *   sluice_to_remote tc egress of the node's uplink: only the deferred
 *                    egress verdict of packets sent to a Service VIP whose
 *                    backend is on another node (see lib/service.h).
 * Each side is judged at its own hook; a packet between two local pods
 * passes both. SEC("tc") programs attach through clsact (bpf_tc_attach) or
 * tcx (BPF_LINK_CREATE with BPF_TCX_INGRESS/EGRESS) alike.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "sluice_maps.h"
#include "../lib/parse.h"
#include "../lib/ct.h"
#include "../lib/policy.h"
#include "../lib/events.h"
#include "../lib/names.h"
#include "../lib/service.h"
#ifdef SLUICE_CT_KERNEL
#include "../lib/kct-verdict.h"
#endif

/*
 * bpf/bench/pass.bpf.c builds this object with SLUICE_BENCH_PASS_ONLY: the
 * same maps and programs at the same hooks, each passing every packet at
 * once. bench/throughput.ts measures it as the cost of the attachment alone.
 * Two more cuts for bench/ab-concurrent.ts return early in sluice_handle:
 * bpf/bench/parse.bpf.c (SLUICE_BENCH_PARSE_ONLY) right after parsing,
 * bpf/bench/lookup.bpf.c (SLUICE_BENCH_LOOKUP_ONLY) right after the ct
 * lookup, so nothing is inserted and every lookup misses an empty table.
 * A third, bpf/bench/state.bpf.c (SLUICE_BENCH_STATE_ONLY), keeps only the
 * state: nothing at the hook the benchmark's pods leave open (their egress)
 * but a bare TCP SYN's lookup, and at the other hook the lookup, the
 * established fast path and an entry written, unjudged, for every packet
 * the fast path does not take.
 */
#ifdef SLUICE_BENCH_PASS_ONLY
#define SLUICE_BENCH_PASS() return TC_ACT_OK
#else
#define SLUICE_BENCH_PASS() \
	do {                 \
	} while (0)
#endif

/* Packets whose pod-side address is not in sluice_endpoints: 1 drops them. */
const volatile __u8 drop_unknown_endpoints = 0;

/* Anchors the event struct and every enum of sluice_maps.h in the BTF. */
const volatile struct sluice_btf_anchor sluice_btf_anchor;

/* The verdict of an IP packet at a pod hook; ep is the pod-side endpoint. */
static __always_inline int sluice_verdict(struct __sk_buff *skb,
					  const struct sluice_pkt *p,
					  const struct sluice_endpoint *ep,
					  __u8 dir, __u64 now, __u32 gen,
					  struct sluice_ct_hit *h,
					  struct sluice_decision *d)
{
	const __u8 *peer = dir == SLUICE_DIR_INGRESS ? p->saddr : p->daddr;
	int new_flow;

	if (!ep) {
		d->reason = SLUICE_REASON_ENDPOINT_UNKNOWN;
		if (drop_unknown_endpoints)
			d->verdict = SLUICE_VERDICT_DENY;
		return 0;
	}
	if (p->frag == SLUICE_FRAG_LATER) {
		d->reason = SLUICE_REASON_FRAGMENT;
		if (!sluice_frag_allowed(p, dir, now)) {
			d->verdict = SLUICE_VERDICT_DENY;
			d->reason = SLUICE_REASON_FRAGMENT_UNKNOWN;
		}
		return 0;
	}
	if (p->inner_off && sluice_ct_related(skb, p, dir, now)) {
		/* Reported like a new flow: it creates no ct entry. */
		d->reason = SLUICE_REASON_CT_RELATED;
		return 1;
	}
	if (dir == SLUICE_DIR_EGRESS && sluice_is_service(p->family, p->daddr))
		return sluice_service_defer(skb, p, ep, now, h, d);
	new_flow = sluice_decide(p, ep, dir, peer, now, gen, h, d);
	if (p->frag == SLUICE_FRAG_FIRST && d->verdict == SLUICE_VERDICT_ALLOW)
		sluice_frag_record(p, dir, now);
	return new_flow;
}

/* Whether the packet carries a pending egress verdict (lib/service.h). */
static __always_inline int sluice_marked(const struct __sk_buff *skb)
{
	return service_mark && (skb->mark & service_mark);
}

/*
 * A packet marked at sluice_from_pod for a service VIP, now carrying the
 * backend address: the source pod's egress verdict. 1 when it is a deny.
 */
static __always_inline int sluice_deferred_deny(struct __sk_buff *skb,
						const struct sluice_pkt *p,
						const struct sluice_config *c)
{
	struct sluice_decision d = { .verdict = SLUICE_VERDICT_ALLOW };
	__u64 now = sluice_now();
	__u32 endpoint_id = 0;
	int new_flow;

	if (p->frag == SLUICE_FRAG_LATER)
		return 0;
	if (!sluice_service_judge(skb, p, now, c->policy_gen, &d, &endpoint_id))
		return 0;
	new_flow = d.reason != SLUICE_REASON_CT_ESTABLISHED &&
		   d.reason != SLUICE_REASON_CT_REPLY;
	sluice_report(c, p, endpoint_id, SLUICE_DIR_EGRESS, &d, new_flow,
		      skb->len, now);
	return d.verdict != SLUICE_VERDICT_ALLOW;
}

/* Every packet but those of established flows: the full verdict. */
static __always_inline int sluice_full(struct __sk_buff *skb,
				       const struct sluice_pkt *p, int rc,
				       __u8 dir, const struct sluice_config *c,
				       struct sluice_ct_hit *h)
{
	struct sluice_decision d = { .verdict = SLUICE_VERDICT_ALLOW };
	const struct sluice_endpoint *ep;
	__u64 now = sluice_now();
	__u32 endpoint_id = 0;
	int new_flow = 0;

	ep = sluice_endpoint_lookup(p->family,
				    dir == SLUICE_DIR_INGRESS ? p->daddr : p->saddr);
	if (ep)
		endpoint_id = ep->endpoint_id;
	if (rc == SLUICE_PARSE_MALFORMED) {
		d.verdict = SLUICE_VERDICT_DENY;
		d.reason = SLUICE_REASON_MALFORMED;
	} else {
		new_flow = sluice_verdict(skb, p, ep, dir, now, c->policy_gen,
					  h, &d);
	}
	sluice_report(c, p, endpoint_id, dir, &d, new_flow, skb->len, now);
	return d.verdict == SLUICE_VERDICT_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

/*
 * The ct entries are looked up first: a packet of a flow allowed under the
 * current policy generation is counted and passed with that one lookup
 * (sluice_ct_fast); everything else takes the full path, which reuses them.
 */
static __always_inline int sluice_handle(struct __sk_buff *skb, __u8 dir)
{
	const struct sluice_config *c = sluice_config_get();
	struct sluice_ct_hit h = {};
	struct sluice_pkt p = {};
	__u32 endpoint_id;
	int rc;

	rc = sluice_parse(skb, &p);
	if (rc == SLUICE_PARSE_PASS)
		return TC_ACT_OK;
#ifdef SLUICE_BENCH_PARSE_ONLY
	return TC_ACT_OK;
#endif
#ifdef SLUICE_BENCH_STATE_ONLY
	if (dir == SLUICE_DIR_EGRESS && p.protocol == IPPROTO_TCP &&
	    (p.tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) != SLUICE_TCP_SYN)
		return TC_ACT_OK;
#endif
	if (rc != SLUICE_PARSE_OK || p.frag == SLUICE_FRAG_LATER)
		return sluice_full(skb, &p, rc, dir, c, &h);
	if (dir == SLUICE_DIR_INGRESS && sluice_marked(skb) &&
	    sluice_deferred_deny(skb, &p, c))
		return TC_ACT_SHOT;
#ifdef SLUICE_CT_KERNEL
	if (p.frag == SLUICE_FRAG_NONE && sluice_kct_tracks(p.protocol)) {
		int act = sluice_kct_handle(skb, &p, dir, c);

		if (act >= 0)
			return act;
	}
#endif
	sluice_ct_find(&p, dir, &h);
#ifdef SLUICE_BENCH_LOOKUP_ONLY
	if (h.v || skb->len) /* always: keeps the lookup from being optimised away */
		return TC_ACT_OK;
#endif
	if (p.frag == SLUICE_FRAG_NONE) {
		endpoint_id = sluice_ct_fast(&p, &h, c->policy_gen);
		if (endpoint_id) {
			sluice_count(endpoint_id, dir, SLUICE_VERDICT_ALLOW,
				     skb->len);
			return TC_ACT_OK;
		}
	}
#ifdef SLUICE_BENCH_STATE_ONLY
	if (p.frag == SLUICE_FRAG_NONE) {
		sluice_ct_create(&p, dir, sluice_now(), c->policy_gen, 1, &h);
		return TC_ACT_OK;
	}
#endif
	return sluice_full(skb, &p, rc, dir, c, &h);
}

SEC("tc")
int sluice_from_pod(struct __sk_buff *skb)
{
	SLUICE_BENCH_PASS();
	return sluice_handle(skb, SLUICE_DIR_EGRESS);
}

SEC("tc")
int sluice_to_pod(struct __sk_buff *skb)
{
	SLUICE_BENCH_PASS();
	return sluice_handle(skb, SLUICE_DIR_INGRESS);
}

SEC("tc")
int sluice_to_remote(struct __sk_buff *skb)
{
	struct sluice_pkt p = {};

	SLUICE_BENCH_PASS();
	if (!sluice_marked(skb) || sluice_parse(skb, &p) != SLUICE_PARSE_OK)
		return TC_ACT_OK;
	return sluice_deferred_deny(skb, &p, sluice_config_get()) ? TC_ACT_SHOT :
								    TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
