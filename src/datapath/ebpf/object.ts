/**
 * Opening and loading sluice.bpf.o: pin root for LIBBPF_PIN_BY_NAME maps,
 * map sizes and `const volatile` globals before load, fds after.
 */

import {
  ERROR_CODES,
  NativeBuffer,
  check,
  checkHandle,
  raw,
  readCString,
  readNative,
  takeLibbpfLog,
  writeNative,
  type Handle,
} from './libbpf.js';
import { BpfError } from '../../util/errors.js';

/** struct bpf_object_open_opts of libbpf 1.1. */
const OPEN_OPTS_SIZE = 80;
const OPEN_OPTS_PIN_ROOT_PATH = 24;
const BTF_KIND_DATASEC = 15;

export interface OpenOptions {
  /**
   * Directory (on bpffs, must exist) where maps are pinned by name and
   * re-used when already pinned there, e.g. `/sys/fs/bpf/sluice`.
   */
  readonly pinRoot: string;
}

export class BpfObject {
  private handle: Handle | undefined;
  private loaded = false;

  private constructor(
    readonly path: string,
    handle: Handle,
  ) {
    this.handle = handle;
  }

  static open(path: string, options: OpenOptions): BpfObject {
    const pinRoot = NativeBuffer.from(Buffer.from(`${options.pinRoot}\0`));
    const opts = Buffer.alloc(OPEN_OPTS_SIZE);
    opts.writeBigUInt64LE(BigInt(OPEN_OPTS_SIZE), 0);
    opts.writeBigUInt64LE(pinRoot.address, OPEN_OPTS_PIN_ROOT_PATH);
    try {
      takeLibbpfLog();
      const h = raw.objectOpenFile(path, opts) as unknown;
      return new BpfObject(path, checkHandle(h, ERROR_CODES.BPF_LOAD, 'open BPF object', { file: path }));
    } finally {
      pinRoot.free();
    }
  }

  private get obj(): Handle {
    if (this.handle === undefined) throw new Error(`BPF object ${this.path} is closed`);
    return this.handle;
  }

  private map(name: string): Handle {
    const m = raw.objectFindMap(this.obj, name) as unknown;
    return checkHandle(m, ERROR_CODES.BPF, 'find map', { file: this.path, map: name });
  }

  /** Before load only. */
  setMaxEntries(mapName: string, maxEntries: number): void {
    check(raw.mapSetMaxEntries(this.map(mapName), maxEntries) as number, ERROR_CODES.BPF, 'set max_entries', {
      file: this.path,
      map: mapName,
    });
  }

  maxEntries(mapName: string): number {
    return raw.mapMaxEntries(this.map(mapName)) as number;
  }

  /** Sets a `const volatile` global (in .rodata) before load; `value` must have its exact size. */
  setGlobal(name: string, value: Uint8Array): void {
    if (this.loaded) throw new Error(`${this.path}: globals are read-only after load`);
    const rodata = this.rodataMap();
    const size = [0];
    const data = raw.mapInitialValue(rodata, size) as unknown;
    const base = checkHandle(data, ERROR_CODES.BPF, 'read .rodata', { file: this.path });
    const v = this.rodataVar(name);
    if (v.size !== value.length) {
      throw new Error(`${this.path}: global ${name} is ${v.size} bytes, got ${value.length}`);
    }
    if (v.offset + v.size > (size[0] ?? 0)) throw new Error(`${this.path}: global ${name} outside .rodata`);
    writeNative(base, v.offset, value);
  }

  /** Loads and verifies programs, creating or re-using pinned maps. Verifier output ends the error message. */
  load(): void {
    takeLibbpfLog();
    const rc = raw.objectLoad(this.obj) as number;
    if (rc < 0) {
      const log = takeLibbpfLog().slice(-40).join('\n');
      try {
        check(rc, ERROR_CODES.BPF_LOAD, 'load BPF object', { file: this.path });
      } catch (err) {
        if (err instanceof BpfError && log !== '') err.message += `\nlibbpf log (tail):\n${log}`;
        throw err;
      }
    }
    this.loaded = true;
  }

  /** The map's fd, valid until close(); duplicate by pinning or bpf_obj_get if you need it longer. */
  mapFd(name: string): number {
    return check(raw.mapFd(this.map(name)) as number, ERROR_CODES.BPF, 'map fd', { file: this.path, map: name });
  }

  programFd(name: string): number {
    const p = raw.objectFindProgram(this.obj, name) as unknown;
    const prog = checkHandle(p, ERROR_CODES.BPF, 'find program', { file: this.path, program: name });
    return check(raw.programFd(prog) as number, ERROR_CODES.BPF, 'program fd', { file: this.path, program: name });
  }

  /** Closes fds and frees libbpf state; pinned maps stay in bpffs. */
  close(): void {
    if (this.handle !== undefined) raw.objectClose(this.handle);
    this.handle = undefined;
  }

  private rodataMap(): Handle {
    let m = raw.objectNextMap(this.obj, null) as unknown;
    while (m !== null && m !== undefined) {
      if ((raw.mapIsInternal(m) as boolean) && readCString(raw.mapName(m)).endsWith('.rodata')) return m;
      m = raw.objectNextMap(this.obj, m) as unknown;
    }
    throw new Error(`${this.path}: no .rodata section (no const volatile globals)`);
  }

  /** Offset and size of a .rodata variable, from the object's BTF DATASEC. */
  private rodataVar(name: string): { offset: number; size: number } {
    const btf = checkHandle(raw.objectBtf(this.obj) as unknown, ERROR_CODES.BPF, 'object BTF', { file: this.path });
    const id = raw.btfFindByNameKind(btf, '.rodata', BTF_KIND_DATASEC) as number;
    check(id, ERROR_CODES.BPF, 'find .rodata in BTF', { file: this.path });
    const sec = raw.btfTypeById(btf, id) as Handle;
    const vlen = readNative(sec, 0, 12).readUInt32LE(4) & 0xffff;
    const infos = readNative(sec, 12, 12 * vlen);
    for (let i = 0; i < vlen; i++) {
      const varType = raw.btfTypeById(btf, infos.readUInt32LE(i * 12)) as Handle;
      const varName = readCString(raw.btfNameByOffset(btf, readNative(varType, 0, 4).readUInt32LE(0)));
      if (varName === name) return { offset: infos.readUInt32LE(i * 12 + 4), size: infos.readUInt32LE(i * 12 + 8) };
    }
    throw new Error(`${this.path}: no const volatile global named ${name}`);
  }
}
