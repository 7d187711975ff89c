// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cut of sluice_tc.bpf.c for bench/ab-concurrent.ts: the least work that
 * still keeps a ct entry for every connection, which established flows need
 * to outlive a policy change. The hook the benchmark's pods leave open (the
 * pod's egress) passes every TCP packet but a bare SYN right after parsing
 * it; the other hook looks each packet's flow up, passes established ones
 * through the fast path and writes an entry, judging nothing, for every
 * other packet. No policy is enforced. Its gap to none is the floor under
 * any datapath with that state. Never used outside the benchmark.
 */
#define SLUICE_BENCH_STATE_ONLY 1
#include "../sluice_tc.bpf.c"
