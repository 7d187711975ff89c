/**
 * The lab sample: every tag is covered, the size is met, the choice is
 * stable, and on the real Cyclonus cases (when the dumper is built) it holds
 * at least 40 cases with every tag.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cyclonusSkip, loadCyclonusCases, type CyclonusCase } from './cases.js';
import { missingTags, sampleIndexes, SAMPLE_SIZE } from './sample.js';

const kase = (description: string, ...tags: string[]): CyclonusCase => ({ description, tags, steps: [] });

const CASES = [
  kase('a', 'x'),
  kase('b', 'x', 'y'),
  kase('c', 'z'),
  kase('d', 'x'),
  kase('e', 'y', 'z', 'w'),
  kase('f', 'x'),
  kase('g', 'v'),
  kase('h', 'x'),
];

const ROWS: readonly { name: string; size: number; want: number[] }[] = [
  { name: 'the cover alone when the size is smaller', size: 1, want: [0, 4, 6] },
  { name: 'cover, then an even stride through the rest', size: 5, want: [0, 1, 3, 4, 6] },
  { name: 'every case when the size exceeds them', size: 20, want: [0, 1, 2, 3, 4, 5, 6, 7] },
];

describe('Cyclonus lab sample', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const got = sampleIndexes(CASES, row.size);
      assert.deepEqual(got, row.want);
      assert.deepEqual(
        missingTags(
          CASES,
          got.map((i) => CASES[i] as CyclonusCase),
        ),
        [],
      );
    });
  }

  test(`the generated cases: at least ${SAMPLE_SIZE}, every tag`, { skip: cyclonusSkip() }, () => {
    const { cases } = loadCyclonusCases();
    const sample = sampleIndexes(cases).map((i) => cases[i] as CyclonusCase);
    assert.ok(sample.length >= SAMPLE_SIZE, `${sample.length} cases`);
    assert.deepEqual(missingTags(cases, sample), []);
  });
});
