/**
 * Whether the kernel offers the conntrack kfuncs that sluice-kct.bpf.o calls
 * (bpf_skb_ct_lookup, bpf_ct_release): they are in the BTF of nf_conntrack,
 * which is vmlinux's when conntrack is built in and the module's own
 * (/sys/kernel/btf/nf_conntrack) when it is a loaded module. Pure reads of
 * /sys; no kernel object is created.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface KctCheck {
  readonly ok: boolean;
  readonly reason: string;
}

const KFUNCS = ['bpf_skb_ct_lookup', 'bpf_ct_release'] as const;

/** The BTF blobs that may hold the kfuncs, in the order they are searched. */
const BTF_FILES = ['/sys/kernel/btf/vmlinux', '/sys/kernel/btf/nf_conntrack'] as const;

function hasName(blob: Buffer, name: string): boolean {
  return blob.includes(Buffer.from(`\0${name}\0`, 'latin1'));
}

export function kernelConntrackCheck(files: readonly string[] = BTF_FILES): KctCheck {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) return { ok: false, reason: `no kernel BTF (${files.join(', ')}: ENOENT)` };
  for (const file of present) {
    let blob: Buffer;
    try {
      blob = readFileSync(file);
    } catch (err) {
      return { ok: false, reason: `${file}: ${(err as Error).message}` };
    }
    if (KFUNCS.every((k) => hasName(blob, k))) return { ok: true, reason: `${KFUNCS.join(', ')} in ${file}` };
  }
  return {
    ok: false,
    reason: `${KFUNCS.join(', ')} not in ${present.join(', ')} (nf_conntrack not loaded, or a kernel before 6.0)`,
  };
}
