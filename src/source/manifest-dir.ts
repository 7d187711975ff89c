/**
 * A directory of manifests as a live source (`sluice agent --manifests DIR`):
 * the same files `sluice simulate -f DIR` reads (`*.yaml`, `*.yml`, `*.json`,
 * one level, dot-files skipped), re-read when they change.
 *
 * Changes are noticed through fs.watch, debounced, with a periodic rescan as
 * the fallback for filesystems where watching misses events (NFS, some
 * container mounts, a directory replaced by a ConfigMap symlink swap). A
 * file is re-read only when its mtime, size or inode changed.
 *
 * A file that fails to parse keeps its last good objects and is reported as
 * `invalid`; an unreadable directory is reported as `error` and the state in
 * force stays. Only a file that is really gone deletes its objects.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger, type Logger } from '../util/log.js';
import { ManifestUnreadableError } from './manifest-files.js';
import {
  diffPlaced,
  invalidEvent,
  parseManifestFile,
  placeObjects,
  type FileState,
  type Placed,
} from './manifest-dir-scan.js';
import type { InvalidEvent, Source, SourceEvent, SourceListener } from './types.js';

export interface ManifestDirOptions {
  readonly dir: string;
  readonly log?: Logger;
  /** Quiet time after a change event before the directory is read. Default 50 ms. */
  readonly debounceMs?: number;
  /** Period of the fallback rescan. Default 2 s. */
  readonly rescanMs?: number;
  /** Use fs.watch (default true); tests turn it off to exercise the rescan alone. */
  readonly watch?: boolean;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export class ManifestDirSource implements Source {
  readonly name = 'manifests';
  private readonly dir: string;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly rescanMs: number;
  private readonly useWatch: boolean;
  private files = new Map<string, FileState>();
  private placed = new Map<string, Placed>();
  private listener: SourceListener | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private isSynced = false;
  /** Duplicates reported already (`file object`), so a rescan does not report them again. */
  private duplicates = new Set<string>();

  constructor(options: ManifestDirOptions) {
    this.dir = options.dir;
    this.log = (options.log ?? silentLogger()).child({ component: 'source', source: 'manifests', dir: options.dir });
    this.debounceMs = options.debounceMs ?? 50;
    this.rescanMs = options.rescanMs ?? 2000;
    this.useWatch = options.watch ?? true;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** Reads the directory once (rejects if it cannot), then watches it. */
  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.stopped = false;
    const info = await stat(this.dir).catch((err: unknown) => unreadable(this.dir, err));
    if (!info.isDirectory()) throw new ManifestUnreadableError('not a directory', { file: this.dir });
    await this.scan();
    this.isSynced = true;
    this.emit({ type: 'synced' });
    if (this.useWatch) this.watchDir();
    this.rescan = setInterval(() => this.schedule(0), this.rescanMs);
    this.rescan.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
    clearInterval(this.rescan);
    await this.running;
    this.listener = undefined;
  }

  /** Reads the directory now (coalesced with a read in progress); resolves when done. */
  scan(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.scanOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private watchDir(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.schedule(this.debounceMs));
      this.watcher.on('error', (err) => {
        this.log.warn({ err }, 'watching the directory failed; relying on the periodic rescan');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err }, 'cannot watch the directory; relying on the periodic rescan');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.debounce !== undefined) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.scan();
    }, delayMs);
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = await listManifestFiles(this.dir);
    } catch (err) {
      this.log.error({ err }, 'cannot read the manifest directory; keeping the state in force');
      this.emit({ type: 'error', error: err });
      return;
    }
    const files = new Map<string, FileState>();
    for (const name of names) {
      const file = path.join(this.dir, name);
      const next = await this.readFile(file, this.files.get(file));
      if (next !== undefined) files.set(file, next);
    }
    if (this.stopped) return;
    this.files = files;
    const { placed, invalid } = placeObjects(files, this.placed);
    this.reportDuplicates(invalid);
    const events = diffPlaced(this.placed, placed);
    this.placed = placed;
    for (const event of events) this.emit(event);
  }

  private reportDuplicates(invalid: readonly InvalidEvent[]): void {
    const now = new Set<string>();
    for (const event of invalid) {
      const key = `${event.file} ${event.kind ?? ''} ${event.object ?? ''}`;
      now.add(key);
      if (!this.duplicates.has(key)) this.emit(event);
    }
    this.duplicates = now;
  }

  /** The file's new state; the old one when unchanged or unreadable; undefined when it is gone. */
  private async readFile(file: string, old: FileState | undefined): Promise<FileState | undefined> {
    try {
      const info = await stat(file);
      const stamp = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (old !== undefined && old.stamp === stamp) return old;
      const text = await readFile(file, 'utf8');
      const parsed = parseManifestFile(text, file, old?.objects ?? []);
      for (const w of parsed.warnings) this.log.warn({ file: w.file, object: w.object }, w.message);
      for (const event of parsed.invalid) this.emit(event);
      return { stamp, objects: parsed.objects };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      const error = new ManifestUnreadableError(`cannot read: ${(err as Error).message}`, { file }, { cause: err });
      this.emit(invalidEvent(error, file, undefined));
      return old;
    }
  }

  private emit(event: SourceEvent): void {
    if (this.stopped && event.type !== 'synced') return;
    this.listener?.(event);
  }
}

/** Manifest file names in `dir`, sorted: the rules of `loadManifestPaths` for a directory. */
async function listManifestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || !EXTENSIONS.includes(path.extname(e.name).toLowerCase())) continue;
    const isFile =
      e.isFile() ||
      (e.isSymbolicLink() && (await stat(path.join(dir, e.name)).catch(() => undefined))?.isFile() === true);
    if (isFile) names.push(e.name);
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function unreadable(file: string, err: unknown): never {
  const reason = err instanceof Error ? err.message : String(err);
  throw new ManifestUnreadableError(`cannot read: ${reason}`, { file }, { cause: err });
}
