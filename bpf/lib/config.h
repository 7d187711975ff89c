/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_config: settings user space changes at run time without a reload.
 * An all-zero entry (the state after load) means the defaults.
 */
#ifndef SLUICE_LIB_CONFIG_H
#define SLUICE_LIB_CONFIG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_config SEC(".maps");

/*
 * Returned if the lookup fails (it cannot for index 0 of an array, but the
 * verifier wants a non-NULL pointer). A .bss global, not a function-level
 * static const: clang puts that one in .rodata.cst16 while its BTF claims
 * .rodata, and the kernel then rejects the object's whole BTF.
 */
struct sluice_config sluice_config_defaults;

static __always_inline const struct sluice_config *sluice_config_get(void)
{
	const struct sluice_config *c;
	__u32 key = 0;

	c = bpf_map_lookup_elem(&sluice_config, &key);
	return c ? c : &sluice_config_defaults;
}

#endif /* SLUICE_LIB_CONFIG_H */
