/**
 * The codec (src/datapath/ebpf/layout.ts) against the BTF of the built object:
 * struct sizes, member names, offsets, sizes and byte order, enum values,
 * and the key/value types of every pinned map.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import type { StructLayout } from '../../src/datapath/ebpf/codec.js';
import { ENUMS } from '../../src/datapath/ebpf/layout-enums.js';
import { MAPS, STRUCTS } from '../../src/datapath/ebpf/layout.js';
import { HEADER, byName, loadBtf, resolve, sizeOf } from './btf-dump.js';

const types = loadBtf();
const header = readFileSync(HEADER, 'utf8');
const headerStructs = [...header.matchAll(/^struct (sluice_\w+) \{/gm)].map((m) => m[1] ?? '');
const headerEnums = [...header.matchAll(/^enum (sluice_\w+) \{/gm)].map((m) => m[1] ?? '');

test('every struct of sluice_maps.h has a codec and reaches the BTF', () => {
  const codecs = new Set(STRUCTS.map((s) => s.c));
  assert.deepEqual(
    headerStructs.filter((s) => !codecs.has(s)),
    [],
    'structs without a codec entry',
  );
  assert.deepEqual(
    headerStructs.filter((s) => byName(types, 'STRUCT', s) === undefined),
    [],
    'structs not in BTF',
  );
  assert.deepEqual(
    [...codecs].filter((c) => !headerStructs.includes(c)),
    [],
    'codec entries not in the header',
  );
});

test('every enum of sluice_maps.h has a codec and reaches the BTF', () => {
  const codecs = new Set(ENUMS.map((e) => e.c));
  assert.deepEqual(
    headerEnums.filter((e) => !codecs.has(e)),
    [],
    'enums without a codec entry',
  );
  assert.deepEqual(
    headerEnums.filter((e) => byName(types, 'ENUM', e) === undefined),
    [],
    'enums not in BTF',
  );
});

for (const s of STRUCTS) {
  test(`struct ${s.c}: size, members, offsets, byte order`, () => {
    const t = byName(types, 'STRUCT', s.c);
    assert.ok(t?.members, `struct ${s.c} not in BTF`);
    assert.equal(s.size, t.size, 'size');
    const btf = t.members.map((m) => {
      const names = resolve(types, m.type_id).names;
      const be = names.includes('__be16') ? 'be16' : names.includes('__be32') ? 'be32' : undefined;
      return { c: m.name, offset: m.bits_offset / 8, size: sizeOf(types, m.type_id), be };
    });
    const codec = s.fields.map((f) => ({
      c: f.c,
      offset: f.offset,
      size: f.size,
      be: f.kind === 'be16' || f.kind === 'be32' ? f.kind : undefined,
    }));
    assert.deepEqual(codec, btf);
  });
}

for (const e of ENUMS) {
  test(`enum ${e.c}: values`, () => {
    const t = byName(types, 'ENUM', e.c);
    assert.ok(t?.values, `enum ${e.c} not in BTF`);
    assert.deepEqual(e.values, Object.fromEntries(t.values.map((v) => [v.name, v.val])));
  });
}

/** Name of the type a map definition member (`__type(key, T)`) points to. */
function mapMemberType(def: NonNullable<ReturnType<typeof byName>>, member: string): string | undefined {
  const m = def.members?.find((x) => x.name === member);
  if (m === undefined) return undefined;
  const ptr = resolve(types, m.type_id).type;
  assert.equal(ptr.kind, 'PTR');
  const target = resolve(types, ptr.type_id ?? 0);
  return target.names.includes('__u32') ? 'u32' : target.type.name;
}

for (const spec of Object.values(MAPS)) {
  test(`map ${spec.name}: key and value types`, () => {
    const v = byName(types, 'VAR', spec.name);
    assert.ok(v?.type_id !== undefined, `map ${spec.name} not in BTF`);
    const def = resolve(types, v.type_id).type;
    const want = (x: StructLayout | 'u32' | undefined): string | undefined => (typeof x === 'object' ? x.c : x);
    assert.equal(mapMemberType(def, 'key'), want(spec.key), 'key');
    assert.equal(mapMemberType(def, 'value'), want(spec.value), 'value');
  });
}
