/**
 * Running interface work (tc netlink, if_nametoindex) inside another network
 * namespace: setns(2) on the calling thread, the synchronous work, setns
 * back. Only the main JS thread switches, and nothing asynchronous runs in
 * between, so no other code ever sees the other namespace. BPF maps, pins
 * and programs are not per network namespace and are unaffected.
 */

import { closeSync, openSync } from 'node:fs';

import { ERROR_CODES, bpfError, lastErrno, raw } from './libbpf.js';

const CLONE_NEWNET = 0x40000000;

/** `/run/netns/<name>` for a name, the path itself for an absolute path. */
export function netnsPath(netns: string): string {
  return netns.startsWith('/') ? netns : `/run/netns/${netns}`;
}

function enter(fd: number, what: string): void {
  if ((raw.setns(fd, CLONE_NEWNET) as number) !== 0) {
    throw bpfError(ERROR_CODES.NETLINK, 'enter network namespace', lastErrno() || 1, { file: what });
  }
}

/** Runs `fn` in `netns` (undefined: right here). `fn` must be synchronous. */
export function inNetns<T>(netns: string | undefined, fn: () => T): T {
  if (netns === undefined) return fn();
  const home = openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = openSync(netnsPath(netns), 'r');
    try {
      enter(target, netnsPath(netns));
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      enter(home, '/proc/thread-self/ns/net');
    }
  } finally {
    closeSync(home);
  }
}
