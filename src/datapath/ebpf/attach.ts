/**
 * Attaching sluice_from_pod / sluice_to_pod to the host side of pod
 * interfaces, and detaching exactly what sluice attached.
 *
 *   tc ingress of the host veth = packets leaving the pod  → sluice_from_pod
 *   tc egress  of the host veth = packets entering the pod → sluice_to_pod
 *
 * tcx: one link per hook, pinned at <pinRoot>/links/<iface>-<hook> so that
 * enforcement outlives the agent; a later agent swaps the program of the
 * pinned link atomically (bpf_link_update). clsact: one cls_bpf filter per
 * hook with a fixed handle and priority, replaced atomically
 * (BPF_TC_F_REPLACE); the qdisc is destroyed on detach only if sluice
 * created it. What was done is recorded per interface (AttachRecord, kept in
 * sluice_names) so that detach and cleanup touch nothing else.
 */

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { constants } from 'node:os';

import { BpfError } from '../../util/errors.js';
import { ATTACH_FLAGS } from './layout.js';
import { ERROR_CODES, bpfError, closeFd, raw } from './libbpf.js';
import { openPinned, pinFd } from './map-ops.js';
import { tcAttach, tcDetach, tcHookCreate, tcHookDestroy, tcxAttach, type TcPoint } from './tc.js';

/** cls_bpf filter handle and priority sluice uses on clsact ("51ce"). */
export const TC_HANDLE = 0x51ce;
export const TC_PRIORITY = 0x51ce;

/** A program fd for one tc hook of an interface. */
export interface Hook {
  readonly point: TcPoint;
  readonly progFd: number;
}

/** Host side of a pod's veth: sluice_from_pod at ingress, sluice_to_pod at egress. */
export const podHooks = (fromPod: number, toPod: number): Hook[] => [
  { point: 'ingress', progFd: fromPod },
  { point: 'egress', progFd: toPod },
];

/** The node's uplink: sluice_to_remote at egress (deferred service egress verdicts). */
export const uplinkHooks = (toRemote: number): Hook[] => [{ point: 'egress', progFd: toRemote }];

export type AttachMode = 'tcx' | 'clsact';

export interface AttachRecord {
  readonly iface: string;
  /** enum sluice_attach_flags */
  readonly flags: number;
}

const POINTS: readonly TcPoint[] = ['ingress', 'egress'];

const E = constants.errno;

export function ifIndex(iface: string): number | undefined {
  const index = raw.ifNameToIndex(iface) as number;
  return index > 0 ? index : undefined;
}

export function linkPinPath(pinRoot: string, iface: string, point: TcPoint): string {
  return `${pinRoot}/links/${iface}-${point}`;
}

/** Points the pinned link at `progFd`; false when the link is gone or defunct (interface deleted). */
function updatePinnedLink(path: string, progFd: number, iface: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openPinned(path);
  try {
    const rc = raw.linkUpdate(fd, progFd, null) as number;
    if (rc === -E.ENOLINK || rc === -E.ENOENT) return false;
    if (rc < 0) throw bpfError(ERROR_CODES.BPF_ATTACH, 'tcx link update', -rc, { iface, file: path });
    return true;
  } finally {
    closeFd(fd);
  }
}

function attachTcx(pinRoot: string, iface: string, ifindex: number, hooks: readonly Hook[]): void {
  mkdirSync(`${pinRoot}/links`, { recursive: true });
  for (const h of hooks) {
    const path = linkPinPath(pinRoot, iface, h.point);
    if (updatePinnedLink(path, h.progFd, iface)) continue;
    rmSync(path, { force: true });
    const fd = tcxAttach(ifindex, iface, h.point, h.progFd);
    try {
      pinFd(fd, path);
    } finally {
      closeFd(fd);
    }
  }
}

function attachClsact(
  iface: string,
  ifindex: number,
  hooks: readonly Hook[],
  previous: AttachRecord | undefined,
): number {
  const created = tcHookCreate(ifindex, iface);
  const keep = previous !== undefined && (previous.flags & ATTACH_FLAGS.qdiscCreated) !== 0;
  for (const h of hooks) {
    tcAttach(ifindex, iface, h.point, h.progFd, { handle: TC_HANDLE, priority: TC_PRIORITY, replace: true });
  }
  return ATTACH_FLAGS.clsact | (created || keep ? ATTACH_FLAGS.qdiscCreated : 0);
}

/**
 * Detaches a pinned tcx link now (unpinning alone releases it from a kernel
 * work queue, a moment later), then unpins it.
 */
function detachPinnedLink(path: string, iface: string): void {
  if (!existsSync(path)) return;
  const fd = openPinned(path);
  try {
    const rc = raw.linkDetach(fd) as number;
    if (rc < 0 && rc !== -E.ENOLINK && rc !== -E.ENOENT) {
      throw bpfError(ERROR_CODES.BPF_ATTACH, 'tcx link detach', -rc, { iface, file: path });
    }
  } finally {
    closeFd(fd);
  }
  rmSync(path, { force: true });
}

/** Removes what `record` says sluice attached; an interface that is gone is not an error. */
export function detach(pinRoot: string, record: AttachRecord, only?: AttachMode): void {
  if ((record.flags & ATTACH_FLAGS.tcx) !== 0 && only !== 'clsact') {
    for (const point of POINTS) detachPinnedLink(linkPinPath(pinRoot, record.iface, point), record.iface);
  }
  if ((record.flags & ATTACH_FLAGS.clsact) === 0 || only === 'tcx') return;
  const ifindex = ifIndex(record.iface);
  if (ifindex === undefined) return;
  if ((record.flags & ATTACH_FLAGS.qdiscCreated) !== 0) {
    tcHookDestroy(ifindex, record.iface);
    return;
  }
  for (const point of POINTS) tcDetach(ifindex, record.iface, point, { handle: TC_HANDLE, priority: TC_PRIORITY });
}

/**
 * Attaches `hooks` to `iface` (replacing sluice's own earlier attachment
 * atomically), then removes an attachment of the other mode. Returns the
 * record to keep.
 */
export function attach(
  pinRoot: string,
  iface: string,
  mode: AttachMode,
  hooks: readonly Hook[],
  previous: AttachRecord | undefined,
): AttachRecord {
  const ifindex = ifIndex(iface);
  if (ifindex === undefined) {
    throw bpfError(ERROR_CODES.BPF_ATTACH, 'find interface', E.ENODEV, { iface });
  }
  let flags: number;
  if (mode === 'tcx') {
    attachTcx(pinRoot, iface, ifindex, hooks);
    flags = ATTACH_FLAGS.tcx;
    if (previous !== undefined) detach(pinRoot, previous, 'clsact');
  } else {
    flags = attachClsact(iface, ifindex, hooks, previous);
    if (previous !== undefined) detach(pinRoot, previous, 'tcx');
  }
  return { iface, flags };
}

/** Whether this kernel offers tcx: attaches a link to `iface` and drops it again. */
export function probeTcx(iface: string, progFd: number): boolean {
  const ifindex = ifIndex(iface);
  if (ifindex === undefined) return false;
  try {
    closeFd(tcxAttach(ifindex, iface, 'ingress', progFd));
    return true;
  } catch (err) {
    if (err instanceof BpfError) return false;
    throw err;
  }
}
