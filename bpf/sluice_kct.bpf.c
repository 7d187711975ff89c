// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc programs with nf_conntrack as the flow state of TCP and UDP
 * (lib/kct.h): an established packet costs one conntrack lookup, a new
 * flow writes nothing of sluice's own. Loaded instead of sluice.bpf.o with
 * `--conntrack kernel`; needs the conntrack kfuncs (nf_conntrack loaded).
 */
#define SLUICE_CT_KERNEL 1
#include "sluice_tc.bpf.c"
