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
 * The debounce is a quiet time: every change event restarts it, but a scan
 * never waits more than `maxDelayMs` (default 10 × the debounce: 500 ms)
 * after the first event of a burst, so a directory that never goes quiet is
 * still read.
 *
 * A change is applied only once it has settled, so that a file caught in the
 * middle of a rewrite in place (`cp`, `>`, fs.writeFile: truncate, then
 * write) or of an editor's save (rename the old file away, then write a new
 * one) never deletes or half-applies its objects for a moment. A changed
 * file is read when its mtime (a vanished file: the directory's mtime) is at
 * least `settleMs` old (plus the filesystem's timestamp granularity: 10 ms,
 * or 1–2 s where mtimes are whole seconds), or when an earlier scan saw the
 * same mtime, size and inode at least `settleMs` ago; and its read counts
 * only if its stat is the same after the read as before. Until then the file keeps the objects it
 * had (a new file: none), nothing is emitted for it, and the directory is
 * scanned again when the change will have settled. So a file that really
 * was emptied or removed deletes its objects `settleMs` later; a file
 * rewritten without pause keeps its last settled objects (and is logged).
 *
 * A file that fails to parse keeps its last good objects and is reported as
 * `invalid`; an unreadable directory is reported as `error` and the state in
 * force stays. Only a file that is really gone deletes its objects.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** Quiet time after a change event before the directory is read; each event restarts it. Default 50 ms. */
  readonly debounceMs?: number;
  /**
   * The longest a scan waits for quiet after the first event of a burst (and
   * the longest `start` waits for fresh files to settle). Default 10 × debounceMs.
   */
  readonly maxDelayMs?: number;
  /** How long a change must stand before it is applied (see the file comment). Default debounceMs. */
  readonly settleMs?: number;
  /** Period of the fallback rescan. Default 2 s. */
  readonly rescanMs?: number;
  /** Use fs.watch (default true); tests turn it off to exercise the rescan alone. */
  readonly watch?: boolean;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The stamp of a file that vanished. */
const GONE = 'gone';

/** A change seen but not applied yet, because it has not settled. */
interface Pending {
  /** The file's new stamp, or GONE. */
  readonly stamp: string;
  /** When a scan first saw this stamp (performance.now()). */
  readonly since: number;
  /** When a scan first saw the file unsettled, whatever its stamp (performance.now()). */
  readonly first: number;
  /** Milliseconds until the change will have settled, as of the scan that saw it. */
  readonly waitMs: number;
  /** Whether "keeps changing" was logged for this file already. */
  readonly warned: boolean;
}

export class ManifestDirSource implements Source {
  readonly name = 'manifests';
  private readonly dir: string;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly settleMs: number;
  private readonly rescanMs: number;
  private readonly useWatch: boolean;
  private files = new Map<string, FileState>();
  private placed = new Map<string, Placed>();
  private listener: SourceListener | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** When the pending debounce fires, and when its window opened (performance.now()). */
  private due: number | undefined;
  private windowStart: number | undefined;
  /** Changes not applied yet, by file. */
  private pending = new Map<string, Pending>();
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
    this.maxDelayMs = options.maxDelayMs ?? 10 * this.debounceMs;
    this.settleMs = options.settleMs ?? this.debounceMs;
    this.rescanMs = options.rescanMs ?? 2000;
    this.useWatch = options.watch ?? true;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /**
   * Reads the directory once (rejects if it cannot), waiting up to
   * `maxDelayMs` for files written just now to settle, then watches it.
   */
  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.stopped = false;
    const info = await stat(this.dir).catch((err: unknown) => unreadable(this.dir, err));
    if (!info.isDirectory()) throw new ManifestUnreadableError('not a directory', { file: this.dir });
    await this.scan();
    const deadline = performance.now() + this.maxDelayMs;
    while (this.pending.size > 0 && !this.stopped && performance.now() < deadline) {
      await sleep(Math.min(this.retryMs(), Math.max(1, deadline - performance.now())));
      await this.scan();
    }
    this.isSynced = true;
    this.emit({ type: 'synced' });
    if (this.useWatch) this.watchDir();
    this.rescan = setInterval(() => this.schedule(0), this.rescanMs);
    this.rescan.unref();
    if (this.pending.size > 0) this.schedule(this.retryMs());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
    this.debounce = this.due = this.windowStart = undefined;
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

  /**
   * A scan `delayMs` from now. A scan already pending is moved later, never
   * earlier (so change events keep pushing it back while they come, and the
   * periodic rescan does not cut a quiet time short), but never past
   * `maxDelayMs` after the first request of the window.
   */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const now = performance.now();
    const windowStart = this.windowStart ?? now;
    const due = Math.min(Math.max(now + delayMs, this.due ?? now), windowStart + this.maxDelayMs);
    if (this.debounce !== undefined && due === this.due) return;
    clearTimeout(this.debounce);
    this.windowStart = windowStart;
    this.due = due;
    this.debounce = setTimeout(
      () => {
        this.debounce = this.due = this.windowStart = undefined;
        void this.scan();
      },
      Math.max(0, due - now),
    );
  }

  /** Milliseconds until the first pending change will have settled. */
  private retryMs(): number {
    let wait = Infinity;
    for (const p of this.pending.values()) wait = Math.min(wait, p.waitMs);
    return Math.max(1, Number.isFinite(wait) ? wait : this.settleMs);
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
    // After the listing, so that its mtime covers every removal the listing missed.
    const dirMtime = await stat(this.dir).then(
      (i) => i.mtimeMs,
      () => undefined,
    );
    const files = new Map<string, FileState>();
    const pending = new Map<string, Pending>();
    const listed = new Set(names.map((name) => path.join(this.dir, name)));
    for (const file of listed) {
      const next = await this.readFile(file, this.files.get(file), pending);
      if (next !== undefined) files.set(file, next);
    }
    for (const [file, old] of this.files) {
      if (!listed.has(file) && !this.settled(file, GONE, dirMtime, pending)) files.set(file, old);
    }
    if (this.stopped) return;
    this.files = files;
    this.pending = pending;
    const { placed, invalid } = placeObjects(files, this.placed);
    this.reportDuplicates(invalid);
    const events = diffPlaced(this.placed, placed);
    this.placed = placed;
    for (const event of events) this.emit(event);
    if (this.isSynced && pending.size > 0) this.schedule(this.retryMs());
  }

  /**
   * Whether the change of `file` to `stamp` (GONE: it vanished) has settled:
   * `mtimeMs` (the file's; the directory's for GONE) is `settleMs` old, or
   * the previous scans have seen this stamp for `settleMs`. If not, records
   * it in `pending` (the next scan's view of what is pending).
   */
  private settled(file: string, stamp: string, mtimeMs: number | undefined, pending: Map<string, Pending>): boolean {
    const now = performance.now();
    const seen = this.pending.get(file);
    const since = seen?.stamp === stamp ? seen.since : now;
    const byMtime = mtimeMs === undefined ? Infinity : mtimeMs + mtimeSlackMs(mtimeMs) + this.settleMs - Date.now();
    const waitMs = Math.min(byMtime, since + this.settleMs - now);
    if (waitMs <= 0) return true;
    const first = seen?.first ?? now;
    let warned = seen?.warned ?? false;
    if (!warned && now - first >= this.maxDelayMs) {
      this.log.warn({ file }, 'file keeps changing; its last settled objects stay in force until it settles');
      warned = true;
    }
    this.log.debug({ file, waitMs }, 'file changed just now; applying it once it has settled');
    pending.set(file, { stamp, since, first, waitMs, warned });
    return false;
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

  /**
   * The file's new state; the old one when unchanged, unreadable or not
   * settled yet (recorded in `pending`); undefined when it is gone (for good).
   */
  private async readFile(
    file: string,
    old: FileState | undefined,
    pending: Map<string, Pending>,
  ): Promise<FileState | undefined> {
    try {
      const before = await stat(file);
      const stamp = stampOf(before);
      if (old !== undefined && old.stamp === stamp) return old;
      if (!this.settled(file, stamp, before.mtimeMs, pending)) return old;
      const text = await readFile(file, 'utf8');
      const after = await stat(file);
      if (stampOf(after) !== stamp) {
        // Written while we read: what we read may be neither version. Look again.
        this.settled(file, stampOf(after), undefined, pending);
        return old;
      }
      const parsed = parseManifestFile(text, file, old?.objects ?? []);
      for (const w of parsed.warnings) this.log.warn({ file: w.file, object: w.object }, w.message);
      for (const event of parsed.invalid) this.emit(event);
      return { stamp, objects: parsed.objects };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Listed, then gone: maybe after the directory's mtime was taken, so only a later look can tell.
        return old === undefined || this.settled(file, GONE, undefined, pending) ? undefined : old;
      }
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

/**
 * How much later than its mtime a file may have changed: filesystems that
 * keep whole seconds (ext3, HFS+, some NFS servers) or two (FAT) round it
 * down; the others take the kernel's coarse clock, up to a tick (≤ 10 ms) behind.
 */
function mtimeSlackMs(mtimeMs: number): number {
  if (mtimeMs % 2000 === 0) return 2000;
  if (mtimeMs % 1000 === 0) return 1000;
  return 10;
}

function stampOf(info: { mtimeMs: number; size: number; ino: number }): string {
  return `${info.mtimeMs}:${info.size}:${info.ino}`;
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
