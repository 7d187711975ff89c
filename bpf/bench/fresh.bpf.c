// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Wrapper for bench/bpf-packet.ts: gives every BPF_PROG_TEST_RUN repeat a
 * tuple never seen before, then tail-calls the program under test (slot 0
 * of sluice_bench_target: a sluice program, or the empty baseline). With
 * one repeated packet a flow is established after its first run; through
 * this wrapper every run is a new flow, so its ct insert is measured as a
 * busy node pays it, into a full LRU table that evicts.
 *
 * The packet is IPv4 + TCP without options: its source port and the low 16
 * bits of its source address take the value of a per-CPU counter (2^32
 * tuples before one repeats). Never attached anywhere.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define SRC_ADDR_LOW_OFF (14 + 12 + 2)
#define TCP_SPORT_OFF (14 + 20)

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sluice_bench_target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sluice_bench_seq SEC(".maps");

SEC("tc")
int sluice_bench_fresh(struct __sk_buff *skb)
{
	__u32 key = 0, *seq = bpf_map_lookup_elem(&sluice_bench_seq, &key);
	__u16 port, low;

	if (!seq)
		return TC_ACT_SHOT;
	*seq += 1;
	port = (__u16)*seq;
	low = (__u16)(*seq >> 16);
	if (bpf_skb_store_bytes(skb, TCP_SPORT_OFF, &port, 2, 0) ||
	    bpf_skb_store_bytes(skb, SRC_ADDR_LOW_OFF, &low, 2, 0))
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &sluice_bench_target, 0);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
