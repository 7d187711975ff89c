/**
 * sluice_names as user space uses it: the planner's id assignments (rows of
 * kinds endpoint, rule set, peer class, policy) and one ATTACHMENT row per
 * interface sluice attached to, whose flags say what it created there.
 */

import type { AttachRecord } from './attach.js';
import { nameValue } from './encode.js';
import type { NameRow } from './ids.js';
import * as L from './layout.js';
import { mapDelete, mapUpdate, type MapRef } from './map-ops.js';
import { readEntries } from './maps.js';

export interface NamesState {
  /** Every row, attachments included (idsFromNames ignores those). */
  readonly rows: readonly NameRow[];
  /** Attachment rows by interface name. */
  readonly attachments: ReadonlyMap<string, { readonly id: number; readonly record: AttachRecord }>;
}

export function decodeName(raw: Uint8Array): string {
  const bytes = Buffer.from(raw);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

export function readNames(ref: MapRef): NamesState {
  const rows: NameRow[] = [];
  const attachments = new Map<string, { id: number; record: AttachRecord }>();
  for (const e of readEntries(ref, L.MAPS.names).values()) {
    const key = L.nameKey.decode(e.key);
    const value = L.name.decode(e.value);
    const row = { kind: key.kind, id: key.id, name: decodeName(value.name) };
    rows.push(row);
    if (key.kind === L.NAME_KIND.attachment) {
      attachments.set(row.name, { id: key.id, record: { iface: row.name, flags: value.flags } });
    }
  }
  return { rows, attachments };
}

function attachmentKey(id: number): Buffer {
  return L.nameKey.encode({ kind: L.NAME_KIND.attachment, id });
}

export function writeAttachment(ref: MapRef, id: number, record: AttachRecord): void {
  mapUpdate(ref, attachmentKey(id), nameValue(record.iface, record.flags));
}

export function removeAttachment(ref: MapRef, id: number): void {
  mapDelete(ref, attachmentKey(id));
}
