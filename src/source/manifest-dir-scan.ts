/**
 * The pure half of the manifest-directory source: one file's new text →
 * its objects (leniently: a bad document keeps that object's last good
 * version), and all files' objects → add/update/delete events against what
 * was emitted before.
 */
import { parseAllDocuments } from 'yaml';
import { ManifestError, SluiceError } from '../util/errors.js';
import { normalizeDocument, OBJECT_KINDS, type NormalizedObject, type ObjectKind } from './normalize.js';
import { sameValue } from './object-equal.js';
import { objectKey, type InvalidEvent, type SourceEvent } from './types.js';
import { isRecord, type ManifestWarning } from './yaml-read.js';

export interface FileState {
  /** `mtime:size:ino` of the content the objects were read from. */
  readonly stamp: string;
  readonly objects: readonly NormalizedObject[];
}

export interface ParsedFile {
  readonly objects: readonly NormalizedObject[];
  readonly invalid: readonly InvalidEvent[];
  readonly warnings: readonly ManifestWarning[];
}

export function invalidEvent(error: SluiceError, file: string, kind: ObjectKind | undefined): InvalidEvent {
  const ctx = error.context;
  return {
    type: 'invalid',
    kind,
    object: ctx.object,
    file: ctx.file ?? file,
    field: ctx.field,
    message: error.message,
    error,
  };
}

/**
 * A YAML syntax error anywhere in the file keeps every object the file had
 * (we cannot tell which documents were meant). A document that parses but
 * fails validation keeps the last good version of the object it names; if it
 * names none, the file's previous objects are all kept.
 */
export function parseManifestFile(text: string, file: string, previous: readonly NormalizedObject[]): ParsedFile {
  const docs = parseAllDocuments(text.replace(/^\uFEFF/, ''));
  const syntax = docs.flatMap((d) => d.errors)[0];
  if (syntax !== undefined) {
    const error = new ManifestError(`YAML syntax error: ${firstLine(syntax.message)}`, { file });
    return { objects: previous, invalid: [invalidEvent(error, file, undefined)], warnings: [] };
  }
  const objects: NormalizedObject[] = [];
  const invalid: InvalidEvent[] = [];
  const warnings: ManifestWarning[] = [];
  for (const doc of docs) {
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
      const normalized = normalizeDocument(value, file);
      objects.push(...normalized.objects);
      warnings.push(...normalized.warnings);
    } catch (err) {
      const error = err instanceof SluiceError ? err : new ManifestError(String(err), { file }, { cause: err });
      invalid.push(invalidEvent(error, file, kindOf(value)));
      const named = error.context.object;
      if (named === undefined) return { objects: previous, invalid, warnings };
      objects.push(...previous.filter((o) => o.id === named && (kindOf(value) ?? o.kind) === o.kind));
    }
  }
  return { objects, invalid, warnings };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function kindOf(doc: unknown): ObjectKind | undefined {
  const kind = isRecord(doc) ? doc['kind'] : undefined;
  return OBJECT_KINDS.find((k) => k === kind);
}

export interface Placed {
  readonly file: string;
  readonly object: NormalizedObject;
}

/**
 * All files' objects → one object per kind and id. An object defined in two
 * files is an error for the file that did not define it first: the version
 * already in force stays, or else the one in the first file by name.
 */
export function placeObjects(
  files: ReadonlyMap<string, FileState>,
  current: ReadonlyMap<string, Placed>,
): { placed: Map<string, Placed>; invalid: InvalidEvent[] } {
  const placed = new Map<string, Placed>();
  const invalid: InvalidEvent[] = [];
  const names = [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const candidates = new Map<string, Placed[]>();
  for (const file of names) {
    for (const object of files.get(file)?.objects ?? []) {
      const key = objectKey(object);
      const list = candidates.get(key) ?? [];
      list.push({ file, object });
      candidates.set(key, list);
    }
  }
  for (const [key, list] of candidates) {
    const inForce = current.get(key)?.file;
    const winner = list.find((c) => c.file === inForce) ?? list[0];
    if (winner === undefined) continue;
    placed.set(key, winner);
    for (const loser of list) {
      if (loser === winner) continue;
      const o = loser.object;
      const message = `duplicate ${o.kind} ${o.id}: already defined in ${winner.file}; this one is ignored`;
      invalid.push(invalidEvent(new ManifestError(message, { file: loser.file, object: o.id }), loser.file, o.kind));
    }
  }
  return { placed, invalid };
}

/** Events that turn `before` into `after`; updates only where the normalised object differs. */
export function diffPlaced(before: ReadonlyMap<string, Placed>, after: ReadonlyMap<string, Placed>): SourceEvent[] {
  const events: SourceEvent[] = [];
  for (const [key, { object }] of after) {
    const old = before.get(key)?.object;
    if (old === undefined) events.push({ type: 'add', object });
    else if (old !== object && !sameValue(old.value, object.value)) events.push({ type: 'update', old, object });
  }
  for (const [key, { object }] of before) {
    if (!after.has(key)) events.push({ type: 'delete', object });
  }
  return events;
}
