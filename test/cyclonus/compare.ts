/**
 * sluice's verdicts on a Cyclonus step, cell by cell: `sluice simulate
 * --output json` on the step's manifests, once per port/protocol the step
 * probes, against Cyclonus's expectation (after the overrides of quirks.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ReachabilityMatrix } from '../../src/compiler/reachability.js';
import { runCli } from '../cli/run-cli.js';
import { cellGroups, type CyclonusCase, type CyclonusCell, type CyclonusStep } from './cases.js';
import { stepManifest } from './manifests.js';
import { expectation } from './quirks.js';

export interface CellMismatch {
  readonly case: string;
  readonly step: number;
  readonly cell: CyclonusCell;
  readonly want: boolean;
  readonly got: boolean;
}

export interface StepComparison {
  readonly compared: number;
  /** Cells whose expectation a quirk overrides. */
  readonly overridden: number;
  readonly mismatches: readonly CellMismatch[];
}

/** Looks a cell up in a matrix of `ns/name` pods. */
export function matrixCell(m: ReachabilityMatrix, from: string, to: string): boolean {
  const i = m.pods.indexOf(from);
  const j = m.pods.indexOf(to);
  const row = m.allowed[i];
  if (i < 0 || j < 0 || row === undefined) throw new Error(`pod ${i < 0 ? from : to} is not in the matrix`);
  return row[j] === true;
}

/** Runs `sluice simulate` on a manifest file; throws on any exit but 0. */
export async function simulate(file: string, port: number, protocol: string): Promise<ReachabilityMatrix> {
  const r = await runCli(['simulate', '-f', file, '--port', String(port), '--protocol', protocol, '-o', 'json']);
  if (r.code !== 0) throw new Error(`sluice simulate ${file} ${port}/${protocol}: exit ${r.code}\n${r.stderr}`);
  return JSON.parse(r.stdout) as ReachabilityMatrix;
}

export async function compareStep(c: CyclonusCase, index: number, step: CyclonusStep): Promise<StepComparison> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-cyclonus-'));
  try {
    const file = path.join(dir, 'step.yaml');
    await writeFile(file, stepManifest(step));
    const mismatches: CellMismatch[] = [];
    let overridden = 0;
    for (const g of cellGroups(step)) {
      const matrix = await simulate(file, g.port, g.protocol);
      for (const cell of g.cells) {
        const want = expectation(c, step, cell);
        if (want.quirk !== undefined) overridden++;
        const got = matrixCell(matrix, cell.from, cell.to);
        if (got !== want.allowed)
          mismatches.push({ case: c.description, step: index + 1, cell, want: want.allowed, got });
      }
    }
    return { compared: step.cells.length, overridden, mismatches };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
