// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cut of sluice_tc.bpf.c for bench/ab-concurrent.ts: each pod hook parses
 * the packet and then passes it (no ct lookup, no policy, no counters), so
 * its gap to pass.bpf.c is what parsing costs on real packets. Never used
 * outside the benchmark.
 */
#define SLUICE_BENCH_PARSE_ONLY 1
#include "../sluice_tc.bpf.c"
