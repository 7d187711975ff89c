/**
 * Reads the BTF of build/bpf/sluice.bpf.o through `bpftool -j btf dump`,
 * building the object first when it is missing.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const OBJECT = `${REPO}build/bpf/sluice.bpf.o`;
/** The build with nf_conntrack as the flow state (bpf/sluice_kct.bpf.c). */
export const KCT_OBJECT = `${REPO}build/bpf/sluice-kct.bpf.o`;
export const HEADER = `${REPO}bpf/include/sluice_maps.h`;

export interface BtfMember {
  readonly name: string;
  readonly type_id: number;
  readonly bits_offset: number;
}

export interface BtfType {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly size?: number;
  readonly type_id?: number;
  readonly nr_elems?: number;
  readonly members?: readonly BtfMember[];
  readonly values?: readonly { readonly name: string; readonly val: number }[];
}

export function ensureObject(object: string = OBJECT): string {
  if (!existsSync(object)) execFileSync('make', ['-C', `${REPO}bpf`], { stdio: 'ignore' });
  return object;
}

export function loadBtf(): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', ensureObject()], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { types: BtfType[] };
  return new Map(parsed.types.map((t) => [t.id, t]));
}

const QUALIFIERS = new Set(['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT']);

/** Follows typedefs and qualifiers; returns every name seen and the final type. */
export function resolve(types: Map<number, BtfType>, id: number): { names: string[]; type: BtfType } {
  const names: string[] = [];
  for (;;) {
    const t = types.get(id);
    if (t === undefined) throw new Error(`BTF type ${id} missing`);
    names.push(t.name);
    if (!QUALIFIERS.has(t.kind) || t.type_id === undefined) return { names, type: t };
    id = t.type_id;
  }
}

export function sizeOf(types: Map<number, BtfType>, id: number): number {
  const { type } = resolve(types, id);
  if (type.kind === 'ARRAY') return (type.nr_elems ?? 0) * sizeOf(types, type.type_id ?? 0);
  if (type.size === undefined) throw new Error(`BTF type ${type.id} (${type.kind}) has no size`);
  return type.size;
}

export function byName(types: Map<number, BtfType>, kind: string, name: string): BtfType | undefined {
  for (const t of types.values()) if (t.kind === kind && t.name === name) return t;
  return undefined;
}
