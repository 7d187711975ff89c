/**
 * Narrowing helpers for parsed manifests. A document arrives as `unknown`;
 * every read goes through a `Reader`, which knows the file and object it is
 * reading, so each failure is a `ManifestError` naming file, object and the
 * field path (`spec.ingress[0].from[1].ipBlock.except[0]`).
 *
 * YAML/JSON `null` is read as absent, as the API server's decoder does.
 */
import { ManifestError } from '../util/errors.js';

/** A non-fatal finding; the CLI prints these to stderr. */
export interface ManifestWarning {
  readonly file: string;
  readonly object?: string;
  readonly message: string;
}

export type JsonRecord = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec` + `podSelector` → `spec.podSelector`; odd keys are quoted: `metadata.labels["app.kubernetes.io/name"]`. */
export function fieldPath(parent: string, key: string): string {
  const part = PLAIN_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (parent === '') return part;
  return part.startsWith('[') ? `${parent}${part}` : `${parent}.${part}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Code-unit order: deterministic, independent of locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export class Reader {
  readonly file: string;
  readonly object: string | undefined;
  private readonly sink: ManifestWarning[];

  constructor(file: string, object?: string, sink: ManifestWarning[] = []) {
    this.file = file;
    this.object = object;
    this.sink = sink;
  }

  /** The same file and warning list, now naming `object` (`namespace/name`). */
  named(object: string): Reader {
    return new Reader(this.file, object, this.sink);
  }

  get warnings(): readonly ManifestWarning[] {
    return this.sink;
  }

  fail(field: string, message: string): never {
    const context =
      this.object === undefined ? { file: this.file, field } : { file: this.file, object: this.object, field };
    throw new ManifestError(message, context);
  }

  warn(message: string): void {
    this.sink.push(
      this.object === undefined ? { file: this.file, message } : { file: this.file, object: this.object, message },
    );
  }

  record(value: unknown, field: string): JsonRecord {
    if (value == null) this.fail(field, 'is required');
    if (!isRecord(value)) this.fail(field, `must be a mapping, got ${describe(value)}`);
    return value;
  }

  optRecord(value: unknown, field: string): JsonRecord | undefined {
    return value == null ? undefined : this.record(value, field);
  }

  optArray(value: unknown, field: string): readonly unknown[] | undefined {
    if (value == null) return undefined;
    if (!Array.isArray(value)) this.fail(field, `must be a list, got ${describe(value)}`);
    return value as readonly unknown[];
  }

  string(value: unknown, field: string): string {
    if (value == null) this.fail(field, 'is required');
    if (typeof value !== 'string') this.fail(field, `must be a string, got ${describe(value)}`);
    return value;
  }

  optString(value: unknown, field: string): string | undefined {
    return value == null ? undefined : this.string(value, field);
  }

  optBoolean(value: unknown, field: string): boolean | undefined {
    if (value == null) return undefined;
    if (typeof value !== 'boolean') this.fail(field, `must be true or false, got ${describe(value)}`);
    return value;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (value == null) this.fail(field, 'is required');
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.fail(field, `must be an integer, got ${describe(value)}`);
    }
    if (value < min || value > max) this.fail(field, `${value} is out of range ${min}..${max}`);
    return value;
  }

  /** Strict specs: a field we do not know is an error, not something to skip. */
  onlyKeys(value: JsonRecord, allowed: readonly string[], field: string): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(fieldPath(field, key), `unknown field "${key}" (allowed: ${allowed.join(', ')})`);
      }
    }
  }

  /**
   * The one key of `keys` that `value` sets (null counts as unset), for
   * "exactly one field must be set" (a CRD's minProperties/maxProperties 1).
   */
  exactlyOne<T extends string>(value: JsonRecord, keys: readonly T[], field: string, what: string): T {
    const set = keys.filter((k) => value[k] != null);
    const [key] = set;
    if (set.length === 1 && key !== undefined) return key;
    const found = set.length === 0 ? 'none is set' : `found ${set.join(' and ')}`;
    this.fail(field, `${what} must set exactly one of ${keys.join(', ')} (${found})`);
  }

  /** A list of `min`..`max` items (a CRD's minItems/maxItems); undefined when absent. */
  optList(value: unknown, field: string, min: number, max: number, noun: string): readonly unknown[] | undefined {
    const list = this.optArray(value, field);
    if (list === undefined) return undefined;
    if (list.length < min)
      this.fail(
        field,
        `must hold at least ${min} ${noun}${min === 1 ? '' : 's'}, got ${list.length === 0 ? 'none' : list.length}`,
      );
    if (list.length > max) this.fail(field, `must hold at most ${max} ${noun}s, got ${list.length}`);
    return list;
  }

  /** One of `choices`; required. */
  choice<T extends string>(value: unknown, field: string, choices: readonly T[], noun: string): T {
    const text = this.string(value, field);
    if (!(choices as readonly string[]).includes(text)) {
      this.fail(field, `"${text}" is not ${noun} (valid: ${choices.join(', ')})`);
    }
    return text as T;
  }

  /** One of `choices`, or `fallback` when absent. */
  oneOf<T extends string>(value: unknown, field: string, choices: readonly T[], fallback: T): T {
    const text = this.optString(value, field);
    if (text === undefined) return fallback;
    if (!(choices as readonly string[]).includes(text)) {
      this.fail(field, `"${text}" is not one of ${choices.join(', ')}`);
    }
    return text as T;
  }
}
