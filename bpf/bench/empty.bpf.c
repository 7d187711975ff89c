// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Baseline for bench/bpf-packet.ts: a tc program that returns TC_ACT_OK and
 * does nothing else. BPF_PROG_TEST_RUN's own per-run cost (skb setup reuse,
 * the loop, the indirect call) is what this measures; sluice's numbers are
 * read as a delta over it. Never attached anywhere.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int sluice_bench_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
