/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict of a TCP or UDP packet with nf_conntrack as the flow state
 * (see kct.h for the two sides and their bytes in the mark).
 */
#ifndef SLUICE_LIB_KCT_VERDICT_H
#define SLUICE_LIB_KCT_VERDICT_H

#include "kct.h"
#include "events.h"
#include "policy.h"
#include "service.h"

/*
 * Per family (0: IPv4, 1: IPv6), whether nf_conntrack has been seen to
 * track pod traffic in this namespace: set by the first conntrack hit at
 * sluice_to_pod, which runs after the host's netfilter. Until then a new
 * flow at sluice_from_pod is written to sluice_ct as it would be without
 * kernel conntrack, so that its replies are known where the kernel tracks
 * nothing (no conntrack user for that family in the node's namespace).
 */
__u32 kct_tracked[2];

static __always_inline __u32 *sluice_kct_tracked(__u8 family)
{
	return &kct_tracked[family == SLUICE_FAMILY_V4 ? 0 : 1];
}

/*
 * Judges side E (the originator's egress: peer and port are the reply
 * tuple's source, i.e. the backend after DNAT) or side I (the responder's
 * ingress: peer is the packet's remote address, port the pod's own).
 */
static __always_inline void sluice_kct_judge(const struct sluice_pkt *p,
					     const struct sluice_endpoint *ep,
					     const struct nf_conn *ct,
					     __u8 dir, __u32 side,
					     struct sluice_decision *d)
{
	__u8 peer[16] = {};

	if (side == SLUICE_KCT_SIDE_I) {
		sluice_judge(ep, SLUICE_DIR_INGRESS, p->family,
			     dir == SLUICE_DIR_INGRESS ? p->saddr : p->daddr,
			     p->protocol,
			     dir == SLUICE_DIR_INGRESS ? p->dport : p->sport, d);
		return;
	}
	if (p->family == SLUICE_FAMILY_V4)
		__builtin_memcpy(peer, &ct->tuplehash[1].tuple.src.u3.ip, 4);
	else
		__builtin_memcpy(peer, ct->tuplehash[1].tuple.src.u3.all, 16);
	sluice_judge(ep, SLUICE_DIR_EGRESS, p->family, peer, p->protocol,
		     ct->tuplehash[1].tuple.src.u.all, d);
}

/*
 * A packet whose side byte is not the current generation's verdict: the
 * side is judged (again) and the byte written. A packet at its side's own
 * hook that finds the byte unset starts the flow (sluice_to_pod: the
 * responder's first packet); anything else continues one already judged,
 * and is reported like an established packet unless it is now denied.
 */
static __always_inline int sluice_kct_slow(struct __sk_buff *skb,
					   const struct sluice_pkt *p,
					   const struct sluice_endpoint *ep,
					   struct nf_conn *ct, __u8 dir,
					   int orig, __u32 side, __u8 byte,
					   const struct sluice_config *c)
{
	struct sluice_decision d = { .verdict = SLUICE_VERDICT_ALLOW };
	__u8 gen = sluice_kct_gen(c->policy_gen);
	int first = byte == 0 && dir == SLUICE_DIR_INGRESS &&
		    side == SLUICE_KCT_SIDE_I;
	int audited;

	if (byte == (gen | SLUICE_KCT_DENIED)) {
		d.verdict = SLUICE_VERDICT_DENY;
		d.reason = SLUICE_REASON_REVALIDATE_DENY;
	} else {
		sluice_kct_judge(p, ep, ct, dir, side, &d);
		sluice_kct_set_side(ct, side,
				    d.verdict == SLUICE_VERDICT_ALLOW ?
					    gen :
					    gen | SLUICE_KCT_DENIED);
		audited = d.reason == SLUICE_REASON_WOULD_DENY && byte != 0;
		if (d.verdict != SLUICE_VERDICT_ALLOW && !first)
			d.reason = SLUICE_REASON_REVALIDATE_DENY;
		else if (!first && !audited &&
			 d.verdict == SLUICE_VERDICT_ALLOW)
			d.reason = orig ? SLUICE_REASON_CT_ESTABLISHED :
					  SLUICE_REASON_CT_REPLY;
	}
	bpf_ct_release(ct);
	sluice_report(c, p, ep->endpoint_id, dir, &d, first, skb->len,
		      sluice_now());
	return d.verdict == SLUICE_VERDICT_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

/*
 * At sluice_from_pod, a packet nf_conntrack does not know yet: the first
 * of its flow. Judged (a Service VIP's verdict deferred, as in service.h)
 * and passed without writing anything: the entry the kernel creates next
 * gets its E byte from the flow's next packet either way.
 */
static __always_inline int sluice_kct_first(struct __sk_buff *skb,
					    const struct sluice_pkt *p,
					    const struct sluice_endpoint *ep,
					    const struct sluice_config *c)
{
	struct sluice_decision d = { .verdict = SLUICE_VERDICT_ALLOW };

	if (sluice_is_service(p->family, p->daddr)) {
		if (ep->flags & SLUICE_EP_EGRESS_ISOLATED)
			skb->mark |= service_mark;
		d.reason = SLUICE_REASON_SERVICE_DEFERRED;
	} else {
		sluice_judge(ep, SLUICE_DIR_EGRESS, p->family, p->daddr,
			     p->protocol, p->dport, &d);
	}
	sluice_report(c, p, ep->endpoint_id, SLUICE_DIR_EGRESS, &d, 1,
		      skb->len, sluice_now());
	return d.verdict == SLUICE_VERDICT_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

/*
 * A TCP or UDP packet (not a fragment) at a pod hook: TC_ACT_OK or
 * TC_ACT_SHOT, or -1 when sluice_ct decides it: a flow nf_conntrack does
 * not track, or a packet whose pod address is not an endpoint. An
 * established packet costs the conntrack lookup and the endpoint lookup
 * that counts it.
 */
static __always_inline int sluice_kct_handle(struct __sk_buff *skb,
					     const struct sluice_pkt *p,
					     __u8 dir,
					     const struct sluice_config *c)
{
	const struct sluice_endpoint *ep;
	struct sluice_ct_hit h;
	struct nf_conn *ct;
	__u32 *tracked;
	__u32 side;
	__u8 byte;
	int orig;

	ep = sluice_endpoint_lookup(p->family, dir == SLUICE_DIR_INGRESS ?
						       p->daddr :
						       p->saddr);
	if (!ep)
		return -1;
	tracked = sluice_kct_tracked(p->family);
	ct = sluice_kct_lookup(skb, p, dir == SLUICE_DIR_INGRESS, &orig);
	if (!ct) {
		if (dir == SLUICE_DIR_INGRESS)
			return -1;
		/* An untracked flow sluice_to_pod let in keeps its entry. */
		sluice_ct_find(p, dir, &h);
		if (h.v || !*tracked)
			return -1;
		return sluice_kct_first(skb, p, ep, c);
	}
	if (dir == SLUICE_DIR_INGRESS && !*tracked)
		*tracked = 1;
	side = (dir == SLUICE_DIR_EGRESS) == orig ? SLUICE_KCT_SIDE_E :
						    SLUICE_KCT_SIDE_I;
	byte = sluice_kct_side(ct, side);
	if (byte == sluice_kct_gen(c->policy_gen)) {
		bpf_ct_release(ct);
		sluice_count(ep->endpoint_id, dir, SLUICE_VERDICT_ALLOW,
			     skb->len);
		return TC_ACT_OK;
	}
	return sluice_kct_slow(skb, p, ep, ct, dir, orig, side, byte, c);
}

#endif /* SLUICE_LIB_KCT_VERDICT_H */
