/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_names: written and read by user space only (see sluice_maps.h).
 * Defined here so that it is pinned with the other maps and carries BTF.
 */
#ifndef SLUICE_LIB_NAMES_H
#define SLUICE_LIB_NAMES_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sluice_name_key);
	__type(value, struct sluice_name);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_names SEC(".maps");

#endif /* SLUICE_LIB_NAMES_H */
