// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A cut of sluice_tc.bpf.c for bench/bpf-packet.ts: the production program
 * without the audit-mode branches (SLUICE_EP_*_AUDIT, reason WOULD_DENY,
 * sluice_would_deny), so that its gap to sluice.bpf.o is what audit mode
 * costs a node with no audited policy. Never used outside the benchmark.
 */
#define SLUICE_BENCH_NO_AUDIT 1
#include "../sluice_tc.bpf.c"
