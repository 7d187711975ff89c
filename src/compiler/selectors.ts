import type { LabelRequirement, LabelSelector, Labels } from '../model/k8s.js';

/**
 * "A label selector is a label query over a set of resources. The result of
 * matchLabels and matchExpressions are ANDed. An empty label selector matches
 * all objects."
 */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const requirement of selector.requirements) {
    if (!requirementMatches(requirement, labels)) return false;
  }
  return true;
}

/**
 * "operator represents a key's relationship to a set of values. Valid
 * operators are In, NotIn, Exists and DoesNotExist."
 */
function requirementMatches(requirement: LabelRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = has ? labels[requirement.key] : undefined;
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && requirement.values.includes(value);
    case 'NotIn':
      return value === undefined || !requirement.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** A canonical text of a label set, used to memoise selector results. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
