/**
 * Struct codecs built from member lists (used by layout.ts only). Offsets
 * follow from the member sizes: sluice_maps.h has explicit pad fields and no
 * implicit padding, and the BTF test proves it. This is the only code that
 * knows byte order: `be16`/`be32` members are network order in the kernel
 * and plain host numbers in TypeScript; other members are host order
 * (little endian on every architecture sluice targets).
 */

import { zeroed } from '../../util/bytes.js';

export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'be16' | 'be32' | 'bytes' | 'pad';

const KIND_SIZE: Readonly<Record<Exclude<FieldKind, 'bytes' | 'pad'>, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  be16: 2,
  be32: 4,
};

export interface FieldDef<C extends string = string, K extends FieldKind = FieldKind> {
  readonly c: C;
  readonly kind: K;
  /** Byte length, for `bytes` and `pad` only. */
  readonly len?: number;
}

export interface FieldSpec {
  /** Member name in C. */
  readonly c: string;
  /** Property name in TypeScript (camelCase of `c`); undefined for pad. */
  readonly ts: string | undefined;
  readonly kind: FieldKind;
  readonly offset: number;
  readonly size: number;
}

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type ValueOfKind<K extends FieldKind> = K extends 'u64' ? bigint : K extends 'bytes' ? Uint8Array : number;

/** The TypeScript shape of a struct, derived from its member list. */
export type StructValue<F extends readonly FieldDef[]> = {
  [E in F[number] as E['kind'] extends 'pad' ? never : Camel<E['c']>]: ValueOfKind<E['kind']>;
};

export interface StructLayout {
  /** `struct <c>` in sluice_maps.h. */
  readonly c: string;
  readonly size: number;
  readonly fields: readonly FieldSpec[];
}

export interface StructCodec<T> extends StructLayout {
  encode(value: T): Buffer;
  decode(buf: Uint8Array): T;
}

export const f = <const C extends string, const K extends FieldKind>(c: C, kind: K, len?: number): FieldDef<C, K> =>
  len === undefined ? { c, kind } : { c, kind, len };

function camel(c: string): string {
  return c.replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
}

function layoutFields(defs: readonly FieldDef[]): FieldSpec[] {
  let offset = 0;
  return defs.map((d) => {
    const size = d.kind === 'bytes' || d.kind === 'pad' ? (d.len ?? 0) : KIND_SIZE[d.kind];
    const spec: FieldSpec = { c: d.c, ts: d.kind === 'pad' ? undefined : camel(d.c), kind: d.kind, offset, size };
    offset += size;
    return spec;
  });
}

function writeField(buf: Buffer, field: FieldSpec, value: unknown, struct: string): void {
  const where = `${struct}.${field.c}`;
  if (field.kind === 'u64') {
    if (typeof value !== 'bigint') throw new TypeError(`${where}: expected bigint`);
    buf.writeBigUInt64LE(value, field.offset);
    return;
  }
  if (field.kind === 'bytes') {
    if (!(value instanceof Uint8Array) || value.length > field.size) {
      throw new TypeError(`${where}: expected at most ${field.size} bytes`);
    }
    buf.set(value, field.offset);
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${where}: expected a non-negative integer`);
  }
  switch (field.kind) {
    case 'u8':
      buf.writeUInt8(value, field.offset);
      return;
    case 'u16':
      buf.writeUInt16LE(value, field.offset);
      return;
    case 'u32':
      buf.writeUInt32LE(value, field.offset);
      return;
    case 'be16':
      buf.writeUInt16BE(value, field.offset);
      return;
    case 'be32':
      buf.writeUInt32BE(value, field.offset);
      return;
    case 'pad':
      return;
  }
}

function readField(buf: Buffer, field: FieldSpec): number | bigint | Uint8Array {
  switch (field.kind) {
    case 'u8':
      return buf.readUInt8(field.offset);
    case 'u16':
      return buf.readUInt16LE(field.offset);
    case 'u32':
      return buf.readUInt32LE(field.offset);
    case 'u64':
      return buf.readBigUInt64LE(field.offset);
    case 'be16':
      return buf.readUInt16BE(field.offset);
    case 'be32':
      return buf.readUInt32BE(field.offset);
    case 'bytes':
    case 'pad':
      return Uint8Array.prototype.slice.call(buf, field.offset, field.offset + field.size);
  }
}

export function defineStruct<const F extends readonly FieldDef[]>(c: string, defs: F): StructCodec<StructValue<F>> {
  const fields = layoutFields(defs);
  const last = fields[fields.length - 1];
  const size = last === undefined ? 0 : last.offset + last.size;
  return {
    c,
    size,
    fields,
    encode(value) {
      const buf = zeroed(size);
      const record = value as Record<string, unknown>;
      for (const field of fields) {
        if (field.ts !== undefined) writeField(buf, field, record[field.ts], c);
      }
      return buf;
    },
    decode(raw) {
      if (raw.length < size) throw new RangeError(`${c}: need ${size} bytes, got ${raw.length}`);
      const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      const out: Record<string, unknown> = {};
      for (const field of fields) {
        if (field.ts !== undefined) out[field.ts] = readField(buf, field);
      }
      return out as StructValue<F>;
    },
  };
}
