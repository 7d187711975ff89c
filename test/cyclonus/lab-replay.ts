/**
 * Cyclonus steps replayed with real packets through `sluice lab` (root
 * only): one lab per datapath, kept from step to step and case to case while
 * the pods (namespace/name, address, ports) stay the same and no namespace
 * goes away; then namespaces, pods (relabelled) and policies are applied and
 * the policies that went away deleted. Otherwise the lab goes down and comes
 * up again on the step. Every TCP and UDP cell is probed and compared with
 * Cyclonus's expectation (after quirks.ts); SCTP cells are counted, not
 * probed (no SCTP sockets in the kernels this runs on).
 *
 * `lab up` and `lab down` run as CLI processes (up spawns the agent and the
 * pod servers as its own argv[1]); apply, delete and the probes run in this
 * process, as test/lab/lab.priv.test.ts does for its probes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatapathKind } from '../../src/datapath/types.js';
import { labApply, labDelete } from '../../src/lab/lab.js';
import { probeMatrix, type ProbeProtocol } from '../../src/lab/probe.js';
import { readState } from '../../src/lab/state.js';
import { cellGroups, type CyclonusCase, type CyclonusCell, type CyclonusStep } from './cases.js';
import { matrixCell, type CellMismatch } from './compare.js';
import { stepObjects } from './manifests.js';
import { expectation } from './quirks.js';
import { netnsWith, processesWith } from '../lab/leftovers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(root, 'test/agent/sluice-cli.ts');

/** Probe settings: everything is on one machine, a reply takes well under a millisecond. */
export const PROBE = { timeoutMs: 200, parallel: 32 } as const;

export interface LabMismatch extends CellMismatch {
  /** The cell measured once more after the step (a flaky cell differs from its first measurement). */
  readonly again: boolean;
}

export interface ReplayResult {
  readonly cases: number;
  readonly steps: number;
  /** TCP and UDP cells measured and compared. */
  readonly probed: number;
  /** Of `probed`, cells whose expectation a quirk overrides. */
  readonly overridden: number;
  readonly sctp: number;
  /** `lab up` runs (the first included). */
  readonly ups: number;
  readonly mismatches: readonly LabMismatch[];
  readonly seconds: number;
}

interface Run {
  readonly code: number;
  readonly stderr: string;
}

function labCli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'lab', ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

async function labOk(args: readonly string[]): Promise<void> {
  const r = await labCli(args);
  if (r.code !== 0) throw new Error(`sluice lab ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
}

/** What decides whether a lab can take a step by apply: its pods, as `lab up` made them. */
const podsKey = (step: CyclonusStep): string =>
  JSON.stringify(
    step.pods
      .map((p) => [p.namespace, p.name, p.ip, p.containers.map((c) => `${c.protocol}:${c.port}:${c.portName}`)])
      .sort(),
  );

const objectKey = (o: Record<string, unknown>): string => {
  const meta = o['metadata'] as { namespace?: string; name?: string };
  return `${String(o['kind'])}/${meta.namespace ?? ''}/${meta.name ?? ''}`;
};

/** One lab of one datapath, taken from step to step. */
class CyclonusLab {
  private shown: CyclonusStep | undefined;
  ups = 0;

  constructor(
    readonly name: string,
    readonly datapath: DatapathKind,
    readonly stateDir: string,
  ) {}

  private file(what: string): string {
    return path.join(os.tmpdir(), `${this.name}-${what}.json`);
  }

  private async write(what: string, objects: readonly Record<string, unknown>[]): Promise<string> {
    const file = this.file(what);
    await writeFile(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
    return file;
  }

  /** Makes the lab hold `step`: apply and delete when its pods allow it, else down and up. */
  async show(step: CyclonusStep): Promise<void> {
    const objects = stepObjects(step);
    const before = this.shown;
    const keep =
      before !== undefined &&
      podsKey(before) === podsKey(step) &&
      Object.keys(before.namespaces).every((ns) => ns in step.namespaces);
    if (!keep) {
      if (before !== undefined) await labOk(['down', '--state-dir', this.stateDir]);
      this.shown = undefined;
      const file = await this.write('up', objects);
      const name = ['--name', this.name, '--datapath', this.datapath];
      await labOk(['up', '--state-dir', this.stateDir, ...name, '-f', file]);
      this.ups++;
      this.shown = step;
      return;
    }
    const now = new Set(objects.map(objectKey));
    const gone = stepObjects(before).filter((o) => o['kind'] === 'NetworkPolicy' && !now.has(objectKey(o)));
    this.shown = undefined; // until both changes are programmed
    await labApply(this.stateDir, [await this.write('apply', objects)]);
    if (gone.length > 0) await labDelete(this.stateDir, [await this.write('delete', gone)]);
    this.shown = step;
  }

  /** Measures one port/protocol over every pod: `ns/name` → `ns/name` → allowed. */
  async probe(port: number, protocol: ProbeProtocol): Promise<(from: string, to: string) => boolean> {
    const state = await readState(this.stateDir);
    if (state === undefined) throw new Error(`no lab in ${this.stateDir}`);
    const m = await probeMatrix(state.pods, { port, protocol, ...PROBE });
    return (from, to) => matrixCell(m, from, to);
  }

  /** `lab down`, then whatever it could not remove: processes, namespaces, pins, files. */
  async close(): Promise<void> {
    await labCli(['down', '--state-dir', this.stateDir]);
    for (const pid of processesWith(this.stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    for (const ns of netnsWith(`${this.name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    await rm(`/sys/fs/bpf/${this.name}`, { recursive: true, force: true });
    await rm(this.stateDir, { recursive: true, force: true });
    for (const what of ['up', 'apply', 'delete']) await rm(this.file(what), { force: true });
  }
}

const probed = (c: CyclonusCell): c is CyclonusCell & { protocol: ProbeProtocol } => c.protocol !== 'SCTP';

/** Replays `cases` on a fresh lab named `name`; the lab is gone when this returns or throws. */
export async function replay(
  name: string,
  datapath: DatapathKind,
  cases: readonly CyclonusCase[],
): Promise<ReplayResult> {
  const started = performance.now();
  const stateDir = await mkdtemp(path.join(os.tmpdir(), `${name}-`));
  await rm(stateDir, { recursive: true }); // lab up wants no lab there; it creates the directory
  const lab = new CyclonusLab(name, datapath, stateDir);
  let steps = 0;
  let cells = 0;
  let overridden = 0;
  let sctp = 0;
  const mismatches: LabMismatch[] = [];
  try {
    for (const c of cases) {
      for (const [i, step] of c.steps.entries()) {
        await lab.show(step);
        steps++;
        const groups = cellGroups(step);
        sctp += groups.filter((g) => g.protocol === 'SCTP').reduce((n, g) => n + g.cells.length, 0);
        // The groups use different ports or protocols: their listeners and pairs do not meet.
        await Promise.all(
          groups.map(async (g) => {
            const cellsOf = g.cells.filter(probed);
            if (cellsOf.length === 0) return;
            const protocol = g.protocol as ProbeProtocol;
            const got = await lab.probe(g.port, protocol);
            const differ: CellMismatch[] = [];
            for (const cell of cellsOf) {
              const want = expectation(c, step, cell);
              if (want.quirk !== undefined) overridden++;
              const measured = got(cell.from, cell.to);
              if (measured !== want.allowed)
                differ.push({ case: c.description, step: i + 1, cell, want: want.allowed, got: measured });
            }
            cells += cellsOf.length;
            if (differ.length === 0) return;
            const again = await lab.probe(g.port, protocol);
            mismatches.push(...differ.map((m) => ({ ...m, again: again(m.cell.from, m.cell.to) })));
          }),
        );
      }
    }
  } finally {
    await lab.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { cases: cases.length, steps, probed: cells, overridden, sctp, ups: lab.ups, mismatches, seconds };
}

export function describeMismatch(m: LabMismatch): string {
  const c = m.cell;
  const verdict = (allowed: boolean): string => (allowed ? 'allowed' : 'denied');
  return (
    `${m.case} (step ${m.step}): ${c.from} -> ${c.to} ${c.port}/${c.protocol}: want ${verdict(m.want)} ` +
    `(Cyclonus: ingress ${c.ingress}, egress ${c.egress}), got ${verdict(m.got)}, again ${verdict(m.again)}`
  );
}
