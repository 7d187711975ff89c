/**
 * libbpf.so.1 (libbpf 1.1) through koffi: the only module that imports koffi.
 *
 * Option structs (`bpf_*_opts`, `bpf_tc_hook`) are laid out by hand in
 * Buffers at the offsets of libbpf 1.1, with `sz` first; pointers inside them
 * point to native memory from `NativeBuffer`. Every failing call becomes a
 * BpfError naming the operation, the map/program/interface and the errno.
 * libbpf's own log lines are captured (not printed) and appended to load errors.
 */

import { constants } from 'node:os';

import koffi from 'koffi';

import { BpfError, ERROR_CODES, type ErrorCode, type ErrorContext } from '../../util/errors.js';

const libbpf = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

koffi.opaque('bpf_object');
koffi.opaque('bpf_map');
koffi.opaque('bpf_program');
koffi.opaque('btf');
koffi.opaque('ring_buffer');
const printFn = koffi.proto('int sluice_libbpf_print_fn(int level, const char *fmt, void *args)');
const sampleFn = koffi.proto('int sluice_ring_buffer_sample_fn(void *ctx, void *data, size_t size)');

/** Raw bindings; callers go through the wrappers below. */
export const raw = {
  objectOpenFile: libbpf.func('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
  objectLoad: libbpf.func('int bpf_object__load(bpf_object *obj)'),
  objectClose: libbpf.func('void bpf_object__close(bpf_object *obj)'),
  objectFindMap: libbpf.func('bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
  objectFindProgram: libbpf.func('bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)'),
  objectNextMap: libbpf.func('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *map)'),
  objectBtf: libbpf.func('btf *bpf_object__btf(bpf_object *obj)'),
  mapName: libbpf.func('const char *bpf_map__name(bpf_map *map)'),
  mapFd: libbpf.func('int bpf_map__fd(bpf_map *map)'),
  mapIsInternal: libbpf.func('bool bpf_map__is_internal(bpf_map *map)'),
  mapSetMaxEntries: libbpf.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max)'),
  mapMaxEntries: libbpf.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
  mapInitialValue: libbpf.func('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *psize)'),
  programFd: libbpf.func('int bpf_program__fd(bpf_program *prog)'),
  btfFindByNameKind: libbpf.func('int32_t btf__find_by_name_kind(btf *btf, const char *name, uint32_t kind)'),
  btfTypeById: libbpf.func('void *btf__type_by_id(btf *btf, uint32_t id)'),
  btfNameByOffset: libbpf.func('const char *btf__name_by_offset(btf *btf, uint32_t off)'),
  mapCreate: libbpf.func(
    'int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)',
  ),
  objPin: libbpf.func('int bpf_obj_pin(int fd, const char *path)'),
  objGet: libbpf.func('int bpf_obj_get(const char *path)'),
  mapUpdateElem: libbpf.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
  mapLookupElem: libbpf.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
  mapDeleteElem: libbpf.func('int bpf_map_delete_elem(int fd, void *key)'),
  mapGetNextKey: libbpf.func('int bpf_map_get_next_key(int fd, void *key, void *next)'),
  mapUpdateBatch: libbpf.func(
    'int bpf_map_update_batch(int fd, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
  ),
  mapLookupBatch: libbpf.func(
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
  ),
  progTestRunOpts: libbpf.func('int bpf_prog_test_run_opts(int fd, void *opts)'),
  tcHookCreate: libbpf.func('int bpf_tc_hook_create(void *hook)'),
  tcHookDestroy: libbpf.func('int bpf_tc_hook_destroy(void *hook)'),
  tcAttach: libbpf.func('int bpf_tc_attach(void *hook, void *opts)'),
  tcDetach: libbpf.func('int bpf_tc_detach(void *hook, void *opts)'),
  linkCreate: libbpf.func('int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)'),
  linkDetach: libbpf.func('int bpf_link_detach(int fd)'),
  linkUpdate: libbpf.func('int bpf_link_update(int fd, int new_prog_fd, void *opts)'),
  ringBufferNew: libbpf.func(
    'ring_buffer *ring_buffer__new(int fd, sluice_ring_buffer_sample_fn *cb, void *ctx, void *opts)',
  ),
  ringBufferConsume: libbpf.func('int ring_buffer__consume(ring_buffer *rb)'),
  ringBufferPoll: libbpf.func('int ring_buffer__poll(ring_buffer *rb, int timeout_ms)'),
  ringBufferFree: libbpf.func('void ring_buffer__free(ring_buffer *rb)'),
  numPossibleCpus: libbpf.func('int libbpf_num_possible_cpus(void)'),
  setPrint: libbpf.func('void *libbpf_set_print(sluice_libbpf_print_fn *fn)'),
  strerror: libc.func('const char *strerror(int errnum)'),
  vsnprintf: libc.func('int vsnprintf(void *buf, size_t size, const char *fmt, void *args)'),
  close: libc.func('int close(int fd)'),
  ifNameToIndex: libc.func('unsigned int if_nametoindex(const char *ifname)'),
  setns: libc.func('int setns(int fd, int nstype)'),
} as const;

/** Opaque native handle returned by libbpf (never dereferenced here). */
export type Handle = object;

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));

export function errnoText(errno: number): string {
  const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return `${name}: ${raw.strerror(errno) as string}`;
}

/** Recent libbpf log lines, kept for error messages instead of going to stderr. */
const LOG_LINES = 2000;
const logLines: string[] = [];
const logBuf = Buffer.alloc(1 << 16);
const printer = koffi.register((_level: number, fmt: string, args: unknown): number => {
  const n = raw.vsnprintf(logBuf, logBuf.length, fmt, args) as number;
  const text = logBuf.subarray(0, Math.max(0, Math.min(n, logBuf.length - 1))).toString('utf8');
  for (const line of text.split('\n')) if (line !== '') logLines.push(line);
  if (logLines.length > LOG_LINES) logLines.splice(0, logLines.length - LOG_LINES);
  return 0;
}, koffi.pointer(printFn));
raw.setPrint(printer);

/** Takes (and clears) the libbpf log lines captured since the last call. */
export function takeLibbpfLog(): string[] {
  return logLines.splice(0, logLines.length);
}

export function bpfError(code: ErrorCode, operation: string, errno: number, context: ErrorContext = {}): BpfError {
  return new BpfError(code, operation, { ...context, errno, errnoText: errnoText(errno) });
}

/** Throws unless rc >= 0 (libbpf returns -errno). */
export function check(rc: number, code: ErrorCode, operation: string, context: ErrorContext = {}): number {
  if (rc < 0) throw bpfError(code, operation, -rc, context);
  return rc;
}

/** errno of the last native call (for libc calls that return -1). */
export function lastErrno(): number {
  return koffi.errno();
}

/** For calls that return NULL and set errno. */
export function checkHandle(h: unknown, code: ErrorCode, operation: string, context: ErrorContext = {}): Handle {
  if (h === null || h === undefined) throw bpfError(code, operation, koffi.errno() || constants.errno.EINVAL, context);
  return h;
}

/** Native (malloc'd) memory, for pointers stored inside option structs. */
export class NativeBuffer {
  readonly ptr: Handle;
  readonly address: bigint;

  constructor(readonly size: number) {
    this.ptr = koffi.alloc('uint8_t', Math.max(size, 1)) as Handle;
    this.address = koffi.address(this.ptr);
  }

  static from(data: Uint8Array): NativeBuffer {
    const b = new NativeBuffer(data.length);
    if (data.length > 0) writeNative(b.ptr, 0, data);
    return b;
  }

  read(len: number = this.size): Buffer {
    return readNative(this.ptr, 0, Math.min(len, this.size));
  }

  free(): void {
    koffi.free(this.ptr);
  }
}

/** Reads `len` bytes at `offset` from a native pointer returned by libbpf. */
export function readNative(ptr: Handle, offset: number, len: number): Buffer {
  return Buffer.from(koffi.decode(ptr, offset, 'uint8_t', len) as Uint8Array);
}

/** Writes bytes at `offset` into native memory owned by libbpf (e.g. .rodata before load). */
export function writeNative(ptr: Handle, offset: number, data: Uint8Array): void {
  koffi.encode(ptr, offset, 'uint8_t', Array.from(data), data.length);
}

export function readCString(ptr: unknown): string {
  return typeof ptr === 'string' ? ptr : '';
}

export function registerSampleCallback(fn: (data: Buffer) => void): { ptr: Handle; release(): void } {
  const cb = koffi.register((_ctx: unknown, data: Handle, size: number): number => {
    fn(readNative(data, 0, size));
    return 0;
  }, koffi.pointer(sampleFn)) as Handle;
  return { ptr: cb, release: () => koffi.unregister(cb as koffi.IKoffiRegisteredCallback) };
}

export function closeFd(fd: number): void {
  if (fd >= 0) raw.close(fd);
}

export { ERROR_CODES };
