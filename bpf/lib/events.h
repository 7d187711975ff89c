/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accounting: per-CPU counters per (endpoint, direction) and verdict events
 * on a ring buffer, limited by a per-CPU token bucket.
 *
 * Deny events are emitted unless SLUICE_CFG_EVENTS_NO_DENY is set; allow
 * events only with SLUICE_CFG_EVENTS_ALLOW, and only for the packet that
 * starts a flow (later packets are ct hits and would flood the buffer).
 */
#ifndef SLUICE_LIB_EVENTS_H
#define SLUICE_LIB_EVENTS_H

#include "config.h"
#include "parse.h"
#include "policy.h"

/* Used when sluice_config.events_per_sec / events_burst are 0. */
const volatile __u32 default_events_per_sec = 1000;
const volatile __u32 default_events_burst = 1000;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_events SEC(".maps");

/* Indexed by endpoint_id * 2 + direction; 2 x 8192 endpoint ids by default. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sluice_stats_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_stats SEC(".maps");

/* Same index and size as sluice_stats. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sluice_would_deny_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_would_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_event_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_event_limit SEC(".maps");

/*
 * The slot of an endpoint and direction in sluice_stats and
 * sluice_would_deny; NULL for ids whose index would overflow (the array
 * lookup itself fails for an index beyond max_entries).
 */
static __always_inline void *sluice_slot(void *map, __u32 endpoint_id, __u8 dir)
{
	__u32 index = endpoint_id * 2 + (dir & 1);

	if (endpoint_id >= 0x7fffffff)
		return NULL;
	return bpf_map_lookup_elem(map, &index);
}

static __always_inline void sluice_count(__u32 endpoint_id, __u8 dir,
					 __u8 verdict, __u32 len)
{
	struct sluice_stats_value *v;

	v = sluice_slot(&sluice_stats, endpoint_id, dir);
	if (!v)
		return;
	if (verdict == SLUICE_VERDICT_ALLOW) {
		v->allowed_packets++;
		v->allowed_bytes += len;
	} else {
		v->denied_packets++;
		v->denied_bytes += len;
	}
}

/* Token bucket; tokens are nanoseconds of budget, one event costs 1e9. */
static __always_inline void sluice_count_would_deny(__u32 endpoint_id,
						   __u8 dir, __u32 len)
{
	struct sluice_would_deny_value *v;

	v = sluice_slot(&sluice_would_deny, endpoint_id, dir);
	if (!v)
		return;
	v->packets++;
	v->bytes += len;
}

static __always_inline int sluice_event_admit(const struct sluice_config *c,
					      __u64 now)
{
	__u64 rate = c->events_per_sec ? c->events_per_sec :
					 default_events_per_sec;
	__u64 burst = c->events_burst ? c->events_burst : default_events_burst;
	struct sluice_event_limit *l;
	__u64 elapsed, cap = burst * SLUICE_NSEC;
	__u32 key = 0;

	l = bpf_map_lookup_elem(&sluice_event_limit, &key);
	if (!l)
		return 0;
	elapsed = now - l->last_ns;
	if (elapsed > 10 * SLUICE_NSEC)
		elapsed = 10 * SLUICE_NSEC;
	l->last_ns = now;
	l->tokens += elapsed * rate;
	if (l->tokens > cap)
		l->tokens = cap;
	if (l->tokens < SLUICE_NSEC) {
		l->suppressed++;
		return 0;
	}
	l->tokens -= SLUICE_NSEC;
	return 1;
}

static __always_inline void sluice_event_emit(const struct sluice_pkt *p,
					      __u32 endpoint_id, __u8 dir,
					      const struct sluice_decision *d,
					      __u64 now)
{
	struct sluice_event *e;
	__u32 key = 0;

	e = bpf_ringbuf_reserve(&sluice_events, sizeof(*e), 0);
	if (!e) {
		struct sluice_event_limit *l;

		l = bpf_map_lookup_elem(&sluice_event_limit, &key);
		if (l)
			l->lost++;
		return;
	}
	e->timestamp_ns = now;
	e->endpoint_id = endpoint_id;
	e->policy_id = d->policy_id;
	e->rule = d->rule;
	e->direction = dir;
	e->verdict = d->verdict;
	e->reason = d->reason;
	e->family = p->family;
	e->protocol = p->protocol;
	e->pad = 0;
	e->sport = p->sport;
	e->dport = p->dport;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->peer_class = d->peer_class;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void sluice_report(const struct sluice_config *c,
					  const struct sluice_pkt *p,
					  __u32 endpoint_id, __u8 dir,
					  const struct sluice_decision *d,
					  int new_flow, __u32 len, __u64 now)
{
	int want;

	sluice_count(endpoint_id, dir, d->verdict, len);
#ifndef SLUICE_BENCH_NO_AUDIT
	if (d->reason == SLUICE_REASON_WOULD_DENY)
		sluice_count_would_deny(endpoint_id, dir, len);
	/* A would-deny is reported like the deny it stands for. */
	if (d->verdict == SLUICE_VERDICT_DENY ||
	    d->reason == SLUICE_REASON_WOULD_DENY)
#else
	if (d->verdict == SLUICE_VERDICT_DENY)
#endif
		want = !(c->flags & SLUICE_CFG_EVENTS_NO_DENY);
	else
		want = new_flow && (c->flags & SLUICE_CFG_EVENTS_ALLOW);
	if (want && sluice_event_admit(c, now))
		sluice_event_emit(p, endpoint_id, dir, d, now);
}

#endif /* SLUICE_LIB_EVENTS_H */
