/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Egress through a Service ClusterIP. kube-proxy rewrites the destination
 * (nat PREROUTING) after tc ingress of the source pod's veth, so the egress
 * policy cannot be judged there: the VIP says nothing about the backend.
 *
 *   sluice_from_pod, destination in sluice_services: the egress verdict is
 *     deferred. The packet passes (a SERVICE ct entry on the VIP tuple lets
 *     replies, un-DNATed back to the VIP, pass the pod's ingress), and when
 *     the pod is egress-isolated it leaves marked with service_mark.
 *   sluice_to_pod / sluice_to_remote (tc egress of the destination veth or
 *     of the uplink), marked packet: the mark is cleared and the source
 *     pod's egress policy is judged against the real backend address, with
 *     its own ct entry (EGRESS, post-DNAT tuple), before anything else.
 *
 * A source NATed on the way (kube-proxy masquerade, hairpin) is no longer a
 * local endpoint at the second hook, and is then not judged.
 */
#ifndef SLUICE_LIB_SERVICE_H
#define SLUICE_LIB_SERVICE_H

#include "ct.h"
#include "policy.h"

/* skb->mark bit meaning "egress verdict pending"; 0 disables the deferral. */
const volatile __u32 service_mark = 0x00100000;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__type(key, struct sluice_peer_key);
	__type(value, struct sluice_service_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_services SEC(".maps");

static __always_inline int sluice_is_service(__u8 family, const __u8 *addr)
{
	struct sluice_peer_key k = {};

	if (!service_mark)
		return 0;
	k.prefixlen = SLUICE_PEER_PREFIX_BASE +
		      (family == SLUICE_FAMILY_V4 ? 32 : 128);
	k.family = family;
	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&sluice_services, &k) != NULL;
}

/* At sluice_from_pod: passes a packet to a VIP, marking it when needed. */
static __always_inline int sluice_service_defer(struct __sk_buff *skb,
						const struct sluice_pkt *p,
						const struct sluice_endpoint *ep,
						__u64 now, struct sluice_ct_hit *h,
						struct sluice_decision *d)
{
	struct sluice_ct_value *ct;
	int match, new_flow = 0;

	ct = sluice_ct_lookup(p, now, h, &match);
	if (ct) {
		sluice_ct_touch(ct, p, match, now);
	} else {
		struct sluice_ct_value v = {
			.last_seen_ns = now,
			.flags = SLUICE_CT_SERVICE | sluice_ct_new_flags(p, h),
			.endpoint_id = ep->endpoint_id
		};

		sluice_ct_put(p, SLUICE_DIR_EGRESS, h, &v);
		new_flow = 1;
	}
	if (ep->flags & SLUICE_EP_EGRESS_ISOLATED)
		skb->mark |= service_mark;
	d->verdict = SLUICE_VERDICT_ALLOW;
	d->reason = SLUICE_REASON_SERVICE_DEFERRED;
	return new_flow;
}

/*
 * At a hook after DNAT: judges the deferred egress of a marked packet.
 * Returns 1 when it was judged (then *d and *endpoint_id hold the source's
 * verdict), 0 when the packet carried no pending verdict.
 */
static __always_inline int sluice_service_judge(struct __sk_buff *skb,
						const struct sluice_pkt *p,
						__u64 now, __u32 gen,
						struct sluice_decision *d,
						__u32 *endpoint_id)
{
	const struct sluice_endpoint *src;
	struct sluice_ct_hit h;

	if (!service_mark || !(skb->mark & service_mark))
		return 0;
	skb->mark &= ~service_mark;
	src = sluice_endpoint_lookup(p->family, p->saddr);
	if (!src)
		return 0;
	*endpoint_id = src->endpoint_id;
	sluice_ct_find(p, SLUICE_DIR_EGRESS, &h);
	sluice_decide(p, src, SLUICE_DIR_EGRESS, p->daddr, now, gen, &h, d);
	return 1;
}

#endif /* SLUICE_LIB_SERVICE_H */
