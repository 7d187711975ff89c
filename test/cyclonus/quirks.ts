/**
 * Where Cyclonus's expectation is not what the NetworkPolicy v1 API says,
 * decided by the API's own words (k8s.io/api networking/v1 types.go, quoted).
 * Each quirk names the cells it covers and the verdict the spec gives them;
 * this is the only place an expectation of Cyclonus's is overridden.
 */
import type { CyclonusCase, CyclonusCell, CyclonusStep } from './cases.js';

export interface Quirk {
  readonly name: string;
  /** The sentence of the spec (or the fact of the datapath) that decides it. */
  readonly decidedBy: string;
  readonly covers: (c: CyclonusCase, step: CyclonusStep, cell: CyclonusCell) => boolean;
  readonly allowed: (cell: CyclonusCell) => boolean;
}

export const QUIRKS: readonly Quirk[] = [
  {
    name: 'a pod reaching its own address',
    decidedBy:
      'types.go is silent on traffic from a pod to itself, and no enforcer sees it: the packet goes out and back ' +
      "through the pod's own loopback and never reaches the node. The Kubernetes documentation says so " +
      '(Network Policies, "What you can\'t do with network policies": "Pods cannot currently block localhost ' +
      'access"), and Cyclonus has --ignore-loopback for it. Cyclonus\'s simulation judges the cell like any ' +
      "other and denies it where the pod's own policies isolate it; sluice simulate and the lab allow it.",
    covers: (_c, _step, cell) => cell.from === cell.to,
    allowed: () => true,
  },
];

export interface Expectation {
  readonly allowed: boolean;
  readonly quirk?: string;
}

export function expectation(c: CyclonusCase, step: CyclonusStep, cell: CyclonusCell): Expectation {
  const quirk = QUIRKS.find((q) => q.covers(c, step, cell));
  return quirk === undefined ? { allowed: cell.allowed } : { allowed: quirk.allowed(cell), quirk: quirk.name };
}
