// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cut of sluice_tc.bpf.c for bench/ab-concurrent.ts: each pod hook parses
 * the packet, looks its flow up in the ct table and then passes it. Nothing
 * is inserted, so every lookup misses an empty table: the gap to
 * parse.bpf.c is the price of one hash lookup per packet and hook, without
 * the entries. Never used outside the benchmark.
 */
#define SLUICE_BENCH_LOOKUP_ONLY 1
#include "../sluice_tc.bpf.c"
