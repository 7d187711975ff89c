/**
 * Cyclonus's generated test cases with its expected reachability, as written
 * by test/cyclonus/main.go (built and cached by test/cyclonus/build.sh, keyed
 * by the Cyclonus version in go.mod and the dumper's source, the same rule as
 * here). Every case is a list of steps; every step is the cluster after that
 * step's actions (namespaces, pods, the policies in force) and one cell per
 * probe job with Cyclonus's verdict.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export type CellProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface CyclonusContainer {
  readonly name: string;
  readonly port: number;
  readonly portName: string;
  readonly protocol: CellProtocol;
}

export interface CyclonusPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>> | null;
  readonly ip: string;
  readonly containers: readonly CyclonusContainer[];
}

/** One probe job: from and to are `ns/pod`; `allowed` is Cyclonus's combined verdict. */
export interface CyclonusCell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly portName: string;
  readonly protocol: CellProtocol;
  readonly ingress: boolean;
  readonly egress: boolean;
  readonly allowed: boolean;
}

export interface CyclonusStep {
  /** `all available` or `PORT/PROTOCOL` (PORT a number or a port name). */
  readonly probe: string;
  readonly namespaces: Readonly<Record<string, Readonly<Record<string, string>> | null>>;
  readonly pods: readonly CyclonusPod[];
  /** NetworkPolicy objects as the API would take them (Go's JSON encoding). */
  readonly policies: readonly Record<string, unknown>[];
  readonly cells: readonly CyclonusCell[];
  /** Jobs to a port the destination does not serve: nothing to compare. */
  readonly unresolved: number;
}

export interface CyclonusCase {
  readonly description: string;
  readonly tags: readonly string[];
  readonly steps: readonly CyclonusStep[];
}

export interface CyclonusCases {
  readonly cyclonus: string;
  readonly cases: readonly CyclonusCase[];
}

/** Where build.sh puts the dumper (same rule as build.sh). */
export function dumperPath(): string {
  const mod = readFileSync(path.join(here, 'go.mod'), 'utf8');
  const version = /^\s*github\.com\/mattfenwick\/cyclonus\s+(v\S+)/m.exec(mod)?.[1];
  if (version === undefined) throw new Error('test/cyclonus/go.mod does not require github.com/mattfenwick/cyclonus');
  const sha = createHash('sha256')
    .update(readFileSync(path.join(here, 'main.go')))
    .digest('hex')
    .slice(0, 12);
  const cache = process.env['SLUICE_CACHE'] ?? path.join(os.homedir(), '.cache', 'sluice');
  return path.join(cache, `cyclonus-${version}-${sha}`, 'cyclonus-cases');
}

/** A skip reason when the dumper is not built, else false. */
export function cyclonusSkip(): string | false {
  return existsSync(dumperPath()) ? false : `Cyclonus dumper not built (bash test/cyclonus/build.sh): ${dumperPath()}`;
}

/** Runs the dumper: every generated case, played and judged by Cyclonus. */
export function loadCyclonusCases(): CyclonusCases {
  const run = spawnSync(dumperPath(), [], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`cyclonus-cases failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as CyclonusCases;
}

/** The port/protocol groups of a step's cells, in a stable order. */
export function cellGroups(step: CyclonusStep): { port: number; protocol: CellProtocol; cells: CyclonusCell[] }[] {
  const groups = new Map<string, { port: number; protocol: CellProtocol; cells: CyclonusCell[] }>();
  for (const c of step.cells) {
    const key = `${c.port}/${c.protocol}`;
    const g = groups.get(key) ?? { port: c.port, protocol: c.protocol, cells: [] };
    g.cells.push(c);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
