/**
 * Label selectors and label maps. Selectors come out canonical, so two
 * selectors that select the same thing the same way are equal under
 * `JSON.stringify`: matchLabels fold into one-value `In` requirements,
 * requirements sort by key then operator then values, values sort and
 * de-duplicate, and identical requirements collapse.
 */
import type { LabelRequirement, LabelSelector, Labels, SelectorOperator } from '../model/k8s.js';
import { compareStrings, fieldPath, indexPath, type Reader } from './yaml-read.js';

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/**
 * A label map: keys non-empty, values strings. YAML numbers and booleans
 * (`version: 1`) are rejected, as the API server rejects them; quote them.
 */
export function readLabels(r: Reader, value: unknown, field: string): Labels {
  const map = r.optRecord(value, field);
  if (map === undefined) return {};
  const entries = Object.keys(map)
    .sort(compareStrings)
    .map((key): [string, string] => {
      const path = fieldPath(field, key);
      if (key.trim() === '') r.fail(path, 'label key must not be empty');
      const v = map[key];
      if (typeof v !== 'string') r.fail(path, `label value must be a string (quote it), got ${JSON.stringify(v)}`);
      return [key, v];
    });
  // fromEntries defines own properties, so a key such as "__proto__" is kept as a label.
  return Object.fromEntries(entries);
}

/**
 * "A label selector is a label query over a set of resources. The result of
 * matchLabels and matchExpressions are ANDed. An empty label selector matches
 * all objects. A null label selector matches no objects." Callers decide what
 * absence means; this reads a present selector.
 */
export function readSelector(r: Reader, value: unknown, field: string): LabelSelector {
  const map = r.record(value, field);
  r.onlyKeys(map, ['matchLabels', 'matchExpressions'], field);
  const labels = readLabels(r, map['matchLabels'], fieldPath(field, 'matchLabels'));
  const requirements: LabelRequirement[] = Object.entries(labels).map(([key, v]) => ({
    key,
    operator: 'In',
    values: [v],
  }));
  const exprField = fieldPath(field, 'matchExpressions');
  const exprs = r.optArray(map['matchExpressions'], exprField) ?? [];
  exprs.forEach((e, i) => requirements.push(readRequirement(r, e, indexPath(exprField, i))));
  return { requirements: canonical(requirements) };
}

/**
 * "operator represents a key's relationship to a set of values. Valid
 * operators are In, NotIn, Exists and DoesNotExist." "If the operator is In
 * or NotIn, the values array must be non-empty. If the operator is Exists or
 * DoesNotExist, the values array must be empty."
 */
function readRequirement(r: Reader, value: unknown, field: string): LabelRequirement {
  const map = r.record(value, field);
  r.onlyKeys(map, ['key', 'operator', 'values'], field);
  const key = r.string(map['key'], fieldPath(field, 'key'));
  if (key.trim() === '') r.fail(fieldPath(field, 'key'), 'label key must not be empty');
  const opField = fieldPath(field, 'operator');
  const operator = r.string(map['operator'], opField);
  if (!(OPERATORS as readonly string[]).includes(operator)) {
    r.fail(opField, `invalid selector operator "${operator}" (valid: ${OPERATORS.join(', ')})`);
  }
  const valuesField = fieldPath(field, 'values');
  const raw = r.optArray(map['values'], valuesField) ?? [];
  const values = raw.map((v, i) => r.string(v, indexPath(valuesField, i)));
  const op = operator as SelectorOperator;
  if ((op === 'In' || op === 'NotIn') && values.length === 0) {
    r.fail(valuesField, `must be non-empty for operator ${op}`);
  }
  if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
    r.fail(valuesField, `must be empty for operator ${op}`);
  }
  return { key, operator: op, values: [...new Set(values)].sort(compareStrings) };
}

function requirementKey(q: LabelRequirement): string {
  return JSON.stringify([q.key, q.operator, q.values]);
}

function canonical(requirements: readonly LabelRequirement[]): LabelRequirement[] {
  const unique = new Map(requirements.map((q) => [requirementKey(q), q]));
  return [...unique.values()].sort(
    (a, b) =>
      compareStrings(a.key, b.key) ||
      compareStrings(a.operator, b.operator) ||
      compareStrings(JSON.stringify(a.values), JSON.stringify(b.values)),
  );
}
