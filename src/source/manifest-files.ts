/**
 * Manifests from files: each path is a file or a directory. A directory is
 * read one level deep (not recursive, like `kubectl apply -f DIR` without
 * `-R`): its `*.yaml`, `*.yml` and `*.json` files, sorted by name in code-unit
 * order; dot-files (editor backups, lock files) are skipped. A file named
 * directly is read whatever its extension. A file reached twice is read once.
 *
 * Files may hold many YAML documents (`---`); JSON is read as YAML.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ClusterSnapshot } from '../model/k8s.js';
import { ERROR_CODES, ManifestError } from '../util/errors.js';
import { normalizeDocument } from './normalize.js';
import { buildSnapshot, type FileObjects } from './snapshot.js';
import { compareStrings, type ManifestWarning } from './yaml-read.js';

export type { ManifestWarning } from './yaml-read.js';

export interface LoadedManifests {
  readonly snapshot: ClusterSnapshot;
  readonly warnings: readonly ManifestWarning[];
  /** The files read, in reading order. */
  readonly files: readonly string[];
}

/** A file or directory that cannot be read: a ManifestError with its own code. */
export class ManifestUnreadableError extends ManifestError {
  override readonly code = ERROR_CODES.MANIFEST_UNREADABLE;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export async function loadManifestPaths(paths: readonly string[]): Promise<LoadedManifests> {
  const warnings: ManifestWarning[] = [];
  const files = await expandPaths(paths, warnings);
  const loaded: FileObjects[] = [];
  for (const file of files) {
    const text = await readText(file);
    const parsed = parseManifestText(text, file);
    warnings.push(...parsed.warnings);
    loaded.push(parsed);
  }
  return { snapshot: buildSnapshot(loaded), warnings, files };
}

/** Pure: the text of one file → its normalised objects and warnings. */
export function parseManifestText(text: string, file: string): FileObjects & { readonly warnings: ManifestWarning[] } {
  const docs = parseAllDocuments(text.replace(/^\uFEFF/, ''), { prettyErrors: true });
  const warnings: ManifestWarning[] = [];
  const objects: FileObjects['objects'][number][] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error !== undefined) throw new ManifestError(syntaxMessage(error.message, error.linePos?.[0]), { file });
    for (const w of doc.warnings) warnings.push({ file, message: syntaxMessage(w.message, w.linePos?.[0]) });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new ManifestError(`YAML cannot be expanded: ${(err as Error).message}`, { file }, { cause: err });
    }
    const normalized = normalizeDocument(value, file);
    objects.push(...normalized.objects);
    warnings.push(...normalized.warnings);
  }
  return { file, objects, warnings };
}

function syntaxMessage(message: string, pos: { line: number; col: number } | undefined): string {
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  return pos === undefined
    ? `YAML syntax error: ${first}`
    : `YAML syntax error at line ${pos.line}, column ${pos.col}: ${first}`;
}

async function expandPaths(paths: readonly string[], warnings: ManifestWarning[]): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = path.resolve(file);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
  };
  for (const p of paths) {
    const info = await stat(p).catch((err: unknown) => unreadable(p, err));
    if (!info.isDirectory()) {
      add(p);
      continue;
    }
    const names = await listManifestNames(p);
    if (names.length === 0)
      warnings.push({ file: p, message: `no ${EXTENSIONS.map((e) => `*${e}`).join(', ')} files in directory` });
    for (const name of names) add(path.join(p, name));
  }
  return files;
}

async function listManifestNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => unreadable(dir, err));
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || !EXTENSIONS.includes(path.extname(e.name).toLowerCase())) continue;
    const isFile =
      e.isFile() ||
      (e.isSymbolicLink() && (await stat(path.join(dir, e.name)).catch(() => undefined))?.isFile() === true);
    if (isFile) names.push(e.name);
  }
  return names.sort(compareStrings);
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: unknown) => unreadable(file, err));
}

function unreadable(file: string, err: unknown): never {
  const reason = err instanceof Error ? err.message : String(err);
  throw new ManifestUnreadableError(`cannot read: ${reason}`, { file }, { cause: err });
}
