/**
 * The deterministic sample of Cyclonus cases replayed with real packets: a
 * greedy cover of every tag (the case adding the most uncovered tags first,
 * the earlier case on a tie), then cases at an even stride through the rest
 * until `size` are taken. Cases keep their generated order.
 */
import type { CyclonusCase } from './cases.js';

export const SAMPLE_SIZE = 40;

function tagCover(cases: readonly CyclonusCase[]): Set<number> {
  const uncovered = new Set(cases.flatMap((c) => c.tags));
  const taken = new Set<number>();
  while (uncovered.size > 0) {
    let best = -1;
    let gain = 0;
    for (const [i, c] of cases.entries()) {
      const g = taken.has(i) ? 0 : new Set(c.tags.filter((t) => uncovered.has(t))).size;
      if (g > gain) [best, gain] = [i, g];
    }
    if (best < 0) break;
    taken.add(best);
    for (const t of cases[best]?.tags ?? []) uncovered.delete(t);
  }
  return taken;
}

/** Indexes into `cases` of the sample, ascending. */
export function sampleIndexes(cases: readonly CyclonusCase[], size = SAMPLE_SIZE): number[] {
  const taken = tagCover(cases);
  const rest = cases.map((_, i) => i).filter((i) => !taken.has(i));
  const wanted = Math.min(size - taken.size, rest.length);
  for (let k = 0; k < wanted; k++) taken.add(rest[Math.floor((k * rest.length) / wanted)] as number);
  return [...taken].sort((a, b) => a - b);
}

export function sampleCases(cases: readonly CyclonusCase[], size = SAMPLE_SIZE): CyclonusCase[] {
  return sampleIndexes(cases, size).map((i) => cases[i] as CyclonusCase);
}

/** Tags of `cases` that no case of `sample` carries (empty when the sample covers them all). */
export function missingTags(cases: readonly CyclonusCase[], sample: readonly CyclonusCase[]): string[] {
  const have = new Set(sample.flatMap((c) => c.tags));
  return [...new Set(cases.flatMap((c) => c.tags))].filter((t) => !have.has(t)).sort();
}
