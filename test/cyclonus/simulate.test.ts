/**
 * Cyclonus as an outside oracle for the compiler: every case its generator
 * makes (all tags), every step, every probe cell, through `sluice simulate`,
 * against the reachability Cyclonus's own policy matcher expects (after the
 * overrides of quirks.ts, the only place one is made). Needs the dumper built
 * by test/cyclonus/build.sh (scripts/setup.sh builds it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cyclonusSkip, loadCyclonusCases } from './cases.js';
import { compareStep, type CellMismatch } from './compare.js';

function describeMismatch(m: CellMismatch): string {
  const c = m.cell;
  return (
    `${m.case} (step ${m.step}): ${c.from} -> ${c.to} ${c.port}/${c.protocol}: Cyclonus ` +
    `${m.want ? 'allows' : 'denies'} (ingress ${c.ingress}, egress ${c.egress}), sluice ${m.got ? 'allows' : 'denies'}`
  );
}

test('sluice simulate agrees with Cyclonus on every generated case', { skip: cyclonusSkip() }, async (t) => {
  const doc = loadCyclonusCases();
  const tags = new Set(doc.cases.flatMap((c) => c.tags));
  let steps = 0;
  let cells = 0;
  let overridden = 0;
  let unresolved = 0;
  const mismatches: CellMismatch[] = [];
  for (const c of doc.cases) {
    for (const [i, step] of c.steps.entries()) {
      const r = await compareStep(c, i, step);
      steps++;
      cells += r.compared;
      overridden += r.overridden;
      unresolved += step.unresolved;
      mismatches.push(...r.mismatches);
    }
  }
  t.diagnostic(
    `Cyclonus ${doc.cyclonus}: ${doc.cases.length} cases (${tags.size} tags), ${steps} steps, ${cells} cells compared ` +
      `(${overridden} by a quirk's expectation), ${unresolved} jobs to unserved ports not compared, ${mismatches.length} differ`,
  );
  // The generator is Cyclonus's, not ours: a release that stopped making cases would pass vacuously.
  assert.ok(doc.cases.length >= 200 && cells >= 100_000, `only ${doc.cases.length} cases, ${cells} cells`);
  assert.deepEqual(mismatches.slice(0, 20).map(describeMismatch), [], `${mismatches.length} cells differ`);
});
