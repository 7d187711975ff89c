/**
 * Attaching the tc programs to an interface: clsact + cls_bpf through
 * libbpf's bpf_tc_* (netlink), or tcx links (kernel >= 6.6) through
 * bpf_link_create, which libbpf 1.1 passes through for attach types it does
 * not know. A tcx link lives while its fd is open or it is pinned.
 */

import { ERROR_CODES, bpfError, check, raw } from './libbpf.js';

/** enum bpf_tc_attach_point. */
export const TC_POINT = { ingress: 1, egress: 2 } as const;
export type TcPoint = keyof typeof TC_POINT;
/** enum bpf_attach_type values of the kernel UAPI (not in libbpf 1.1's headers). */
const BPF_TCX = { ingress: 46, egress: 47 } as const;
const BPF_TC_F_REPLACE = 1;
const EEXIST = 17;
const ENOENT = 2;

/** struct bpf_tc_hook and struct bpf_tc_opts of libbpf 1.1. */
function hook(ifindex: number, attachPoint: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeBigUInt64LE(24n, 0);
  h.writeInt32LE(ifindex, 8);
  h.writeUInt32LE(attachPoint, 12);
  return h;
}

function tcOpts(fields: { progFd?: number; flags?: number; handle?: number; priority?: number }): Buffer {
  const o = Buffer.alloc(32);
  o.writeBigUInt64LE(32n, 0);
  o.writeInt32LE(fields.progFd ?? 0, 8);
  o.writeUInt32LE(fields.flags ?? 0, 12);
  o.writeUInt32LE(fields.handle ?? 0, 20);
  o.writeUInt32LE(fields.priority ?? 0, 24);
  return o;
}

export interface TcFilter {
  readonly handle: number;
  readonly priority: number;
  readonly progId: number;
}

/** Ensures the clsact qdisc; returns false when it already existed (then do not destroy it). */
export function tcHookCreate(ifindex: number, iface: string): boolean {
  const rc = raw.tcHookCreate(hook(ifindex, TC_POINT.ingress | TC_POINT.egress)) as number;
  if (rc === -EEXIST) return false;
  check(rc, ERROR_CODES.BPF_ATTACH, 'create clsact qdisc', { iface });
  return true;
}

/** Removes the clsact qdisc and every filter on it. */
export function tcHookDestroy(ifindex: number, iface: string): void {
  const rc = raw.tcHookDestroy(hook(ifindex, TC_POINT.ingress | TC_POINT.egress)) as number;
  if (rc === -ENOENT) return;
  check(rc, ERROR_CODES.BPF_ATTACH, 'destroy clsact qdisc', { iface });
}

/** Attaches (or with `replace`, atomically replaces) a cls_bpf filter in direct-action mode. */
export function tcAttach(
  ifindex: number,
  iface: string,
  point: TcPoint,
  progFd: number,
  options: { handle?: number; priority?: number; replace?: boolean } = {},
): TcFilter {
  const opts = tcOpts({
    progFd,
    flags: options.replace === true ? BPF_TC_F_REPLACE : 0,
    handle: options.handle ?? 1,
    priority: options.priority ?? 1,
  });
  check(raw.tcAttach(hook(ifindex, TC_POINT[point]), opts) as number, ERROR_CODES.BPF_ATTACH, `tc attach ${point}`, {
    iface,
  });
  return { handle: opts.readUInt32LE(20), priority: opts.readUInt32LE(24), progId: opts.readUInt32LE(16) };
}

/** Removes one filter; false when it was not there. */
export function tcDetach(
  ifindex: number,
  iface: string,
  point: TcPoint,
  filter: { handle: number; priority: number },
): boolean {
  const rc = raw.tcDetach(hook(ifindex, TC_POINT[point]), tcOpts(filter)) as number;
  if (rc === -ENOENT) return false;
  check(rc, ERROR_CODES.BPF_ATTACH, `tc detach ${point}`, { iface });
  return true;
}

/** Creates a tcx link; returns its fd. Close it (or unpin) to detach. */
export function tcxAttach(ifindex: number, iface: string, point: TcPoint, progFd: number): number {
  const fd = raw.linkCreate(progFd, ifindex, BPF_TCX[point], null) as number;
  if (fd < 0) throw bpfError(ERROR_CODES.BPF_ATTACH, `tcx attach ${point}`, -fd, { iface });
  return fd;
}
