/**
 * Element operations on map fds, pinning, and per-CPU value splitting.
 * Keys and values are raw bytes; layout.ts encodes and decodes them.
 */

import { constants } from 'node:os';

import { ERROR_CODES, bpfError, check, raw } from './libbpf.js';
import { zeroed } from '../../util/bytes.js';

export const UPDATE = { any: 0, noExist: 1, exist: 2 } as const;
export type UpdateFlag = (typeof UPDATE)[keyof typeof UPDATE];

/** A map fd and the name to report in errors. */
export interface MapRef {
  readonly fd: number;
  readonly name: string;
}

/** Kernel-internal ENOTSUPP, returned for batch ops a map type lacks. */
const ENOTSUPP = 524;
const E = constants.errno;

export function mapUpdate(m: MapRef, key: Uint8Array, value: Uint8Array, flags: UpdateFlag = UPDATE.any): void {
  check(raw.mapUpdateElem(m.fd, key, value, flags) as number, ERROR_CODES.BPF_MAP_UPDATE, 'map update', {
    map: m.name,
  });
}

/** Adds the element unless its key is there; false when it was. */
export function mapInsert(m: MapRef, key: Uint8Array, value: Uint8Array): boolean {
  const rc = raw.mapUpdateElem(m.fd, key, value, UPDATE.noExist) as number;
  if (rc === -E.EEXIST) return false;
  check(rc, ERROR_CODES.BPF_MAP_UPDATE, 'map insert', { map: m.name });
  return true;
}

/** The value, or undefined when the key is absent. For per-CPU maps use mapLookupPerCpu. */
export function mapLookup(m: MapRef, key: Uint8Array, valueSize: number): Buffer | undefined {
  const value = zeroed(valueSize);
  const rc = raw.mapLookupElem(m.fd, key, value) as number;
  if (rc === -E.ENOENT) return undefined;
  check(rc, ERROR_CODES.BPF, 'map lookup', { map: m.name });
  return value;
}

/** One value per possible CPU (each slot is valueSize rounded up to 8 bytes). */
export function mapLookupPerCpu(m: MapRef, key: Uint8Array, valueSize: number): Buffer[] | undefined {
  const stride = Math.ceil(valueSize / 8) * 8;
  const cpus = possibleCpus();
  const all = mapLookup(m, key, stride * cpus);
  if (all === undefined) return undefined;
  return Array.from({ length: cpus }, (_v, i) => all.subarray(i * stride, i * stride + valueSize));
}

/** True when the key was there. */
export function mapDelete(m: MapRef, key: Uint8Array): boolean {
  const rc = raw.mapDeleteElem(m.fd, key) as number;
  if (rc === -E.ENOENT) return false;
  check(rc, ERROR_CODES.BPF_MAP_UPDATE, 'map delete', { map: m.name });
  return true;
}

/** Every key, by bpf_map_get_next_key. Not a snapshot: concurrent updates may show or hide keys. */
export function mapKeys(m: MapRef, keySize: number): Buffer[] {
  const keys: Buffer[] = [];
  let prev: Buffer | null = null;
  for (;;) {
    const next = zeroed(keySize);
    const rc = raw.mapGetNextKey(m.fd, prev, next) as number;
    if (rc === -E.ENOENT) return keys;
    check(rc, ERROR_CODES.BPF, 'map iterate', { map: m.name });
    keys.push(next);
    prev = next;
  }
}

const BATCH = 4096;

/**
 * Every entry of a map by bpf_map_lookup_batch, which for hash maps walks
 * buckets and so makes progress while programs insert and delete
 * (get_next_key starts over when its previous key is gone). Where batch
 * lookup is missing, key by key. Not a snapshot either way.
 *
 * The batch token is a bucket number (4 bytes) for hash maps but a whole
 * key for the kernel's generic batch (arrays, LPM tries): the kernel writes
 * key-size bytes into it and reads them back as the next start. A shorter
 * buffer would be overrun and the walk would restart from a cut key.
 */
export function mapEntries(m: MapRef, keySize: number, valueSize: number): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  const keys = zeroed(keySize * BATCH);
  const values = zeroed(valueSize * BATCH);
  const tokenSize = Math.max(keySize, 8);
  const token = [Buffer.alloc(tokenSize), Buffer.alloc(tokenSize)] as const;
  for (let first = true; ; first = false) {
    const count = [BATCH];
    const rc = raw.mapLookupBatch(m.fd, first ? null : token[0], token[1], keys, values, count, null) as number;
    if (first && (rc === -E.EINVAL || rc === -ENOTSUPP || rc === -E.EOPNOTSUPP)) {
      return mapKeys(m, keySize).flatMap((k) => {
        const v = mapLookup(m, k, valueSize);
        return v === undefined ? [] : [[k, v] as [Buffer, Buffer]];
      });
    }
    if (rc !== 0 && rc !== -E.ENOENT) check(rc, ERROR_CODES.BPF, 'map lookup batch', { map: m.name });
    const n = count[0] ?? 0;
    for (let i = 0; i < n; i++) {
      out.push([
        Buffer.from(keys.subarray(i * keySize, (i + 1) * keySize)),
        Buffer.from(values.subarray(i * valueSize, (i + 1) * valueSize)),
      ]);
    }
    if (rc === -E.ENOENT) return out;
    token[1].copy(token[0]);
  }
}

/**
 * Updates many elements: one bpf_map_update_batch when the map type has it,
 * otherwise (LPM trie, older kernels) element by element.
 */
export function mapUpdateMany(
  m: MapRef,
  entries: readonly (readonly [Uint8Array, Uint8Array])[],
  flags: UpdateFlag = UPDATE.any,
): void {
  const first = entries[0];
  if (first === undefined) return;
  const keys = Buffer.concat(entries.map(([k]) => k));
  const values = Buffer.concat(entries.map(([, v]) => v));
  const count = [entries.length];
  const opts = Buffer.alloc(24); // struct bpf_map_batch_opts: sz, elem_flags, flags
  opts.writeBigUInt64LE(24n, 0);
  opts.writeBigUInt64LE(BigInt(flags), 8);
  const rc = raw.mapUpdateBatch(m.fd, keys, values, count, opts) as number;
  if (rc === -E.EINVAL || rc === -ENOTSUPP || rc === -E.EOPNOTSUPP) {
    for (const [k, v] of entries) mapUpdate(m, k, v, flags);
    return;
  }
  check(rc, ERROR_CODES.BPF_MAP_UPDATE, `map update batch (${count[0] ?? 0}/${entries.length} done)`, {
    map: m.name,
  });
}

export function pinFd(fd: number, path: string): void {
  check(raw.objPin(fd, path) as number, ERROR_CODES.BPF, 'pin', { file: path });
}

/** Opens a pinned map, program or link; the caller closes the fd (closeFd). */
export function openPinned(path: string): number {
  return check(raw.objGet(path) as number, ERROR_CODES.BPF, 'open pinned object', { file: path });
}

let cpuCount: number | undefined;
export function possibleCpus(): number {
  if (cpuCount === undefined) {
    const n = raw.numPossibleCpus() as number;
    if (n <= 0) throw bpfError(ERROR_CODES.BPF, 'count possible CPUs', -n);
    cpuCount = n;
  }
  return cpuCount;
}
