// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The attachment floor for bench/throughput.ts: sluice_tc.bpf.c with every
 * program passing each packet at its first instruction. The agent loads,
 * pins and attaches it exactly as it does the real object (same maps, same
 * hooks, tcx or clsact alike), so the gap between no programs and this one
 * is what attaching costs, and the gap between this and the real object is
 * what sluice's checks cost. Never used outside the benchmark.
 */
#define SLUICE_BENCH_PASS_ONLY 1
#include "../sluice_tc.bpf.c"
