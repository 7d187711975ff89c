// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor under bench/bpf-packet-fresh.ts: what a truly new flow costs
 * any enforcer that keeps a connection table like sluice's, with no policy
 * at all. A target of the fresh wrapper (bpf/bench/fresh.bpf.c) like
 * sluice_to_pod: it builds the packet's sluice_ct4_key, looks it up in an
 * LRU hash of sluice_ct4's size and value, and inserts on a miss. Every
 * run is a miss (the wrapper never repeats a tuple), so this is one ct
 * lookup plus one LRU insert, evicting once the table is full.
 *
 * The packet is IPv4 + TCP without options, as the wrapper assumes. Never
 * attached anywhere.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "sluice_maps.h"

#define IP_OFF 14
#define TCP_OFF (14 + 20)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_ct4_key);
	__type(value, struct sluice_ct_value);
} sluice_bench_ct SEC(".maps");

SEC("tc")
int sluice_bench_ct_floor(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct sluice_ct_value v = { .last_seen_ns = 1 };
	struct sluice_ct4_key k = {};
	__u8 *ip = data + IP_OFF;
	__be16 *ports = data + TCP_OFF;

	if (data + TCP_OFF + 4 > end)
		return TC_ACT_SHOT;
	__builtin_memcpy(k.saddr, ip + 12, 4);
	__builtin_memcpy(k.daddr, ip + 16, 4);
	k.sport = ports[0];
	k.dport = ports[1];
	k.protocol = ip[9];
	if (!bpf_map_lookup_elem(&sluice_bench_ct, &k))
		bpf_map_update_elem(&sluice_bench_ct, &k, &v, BPF_ANY);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
