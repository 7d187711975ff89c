import { UsageError } from '../util/errors.js';

/**
 * Flags are declared once, as data: the parser, `--help` and the generated
 * flags reference in docs all read these tables.
 */
export type FlagType = 'string' | 'number' | 'boolean' | 'list';

export interface FlagDef {
  readonly name: string;
  readonly short?: string;
  readonly type: FlagType;
  readonly help: string;
  readonly default?: string | number | boolean;
  /** Allowed values, for string flags. */
  readonly choices?: readonly string[];
  /** Environment variable that supplies the value when the flag is absent. */
  readonly env?: string;
  readonly required?: boolean;
  /** Placeholder in help text, e.g. `PATH`. */
  readonly value?: string;
}

export interface CommandDef {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: readonly FlagDef[];
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

function findFlag(cmd: CommandDef, token: string): FlagDef | undefined {
  if (token.startsWith('--')) return cmd.flags.find((f) => f.name === token.slice(2));
  return cmd.flags.find((f) => f.short !== undefined && `-${f.short}` === token);
}

function convert(cmd: CommandDef, def: FlagDef, raw: string): string | number {
  if (def.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`${cmd.name}: --${def.name} wants a number, got '${raw}'`);
    return n;
  }
  if (def.choices !== undefined && !def.choices.includes(raw)) {
    throw new UsageError(`${cmd.name}: --${def.name} must be one of ${def.choices.join(', ')}, got '${raw}'`);
  }
  return raw;
}

/** Parses argv for one command; throws UsageError naming the flag on any problem. */
export function parseFlags(
  cmd: CommandDef,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { values: FlagValues; positional: string[] } {
  const values: FlagValues = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const token = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const def = findFlag(cmd, token);
    if (def === undefined) throw new UsageError(`${cmd.name}: unknown flag ${token} (see 'sluice ${cmd.name} --help')`);
    if (def.type === 'boolean') {
      values[def.name] = eq > 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const raw = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`${cmd.name}: ${token} needs a value`);
    if (def.type === 'list') {
      const list = (values[def.name] as string[] | undefined) ?? [];
      list.push(raw);
      values[def.name] = list;
    } else {
      values[def.name] = convert(cmd, def, raw);
    }
  }
  for (const def of cmd.flags) {
    if (values[def.name] !== undefined) continue;
    const fromEnv = def.env === undefined ? undefined : env[def.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      values[def.name] =
        def.type === 'boolean'
          ? fromEnv === 'true'
          : def.type === 'list'
            ? fromEnv.split(',')
            : convert(cmd, def, fromEnv);
    } else if (def.default !== undefined) {
      values[def.name] = def.default;
    } else if (def.required === true) {
      throw new UsageError(`${cmd.name}: --${def.name} is required`);
    }
  }
  return { values, positional };
}

export function helpText(cmd: CommandDef): string {
  const lines = [`Usage: ${cmd.usage}`, '', cmd.summary, '', 'Flags:'];
  for (const f of cmd.flags) {
    const names = `${f.short !== undefined ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'boolean' ? '' : ` ${f.value ?? f.type.toUpperCase()}`}`;
    const extras = [
      f.choices !== undefined ? `one of ${f.choices.join('|')}` : undefined,
      f.default !== undefined ? `default ${String(f.default)}` : undefined,
      f.env !== undefined ? `env ${f.env}` : undefined,
      f.required === true ? 'required' : undefined,
      f.type === 'list' ? 'repeatable' : undefined,
    ].filter((x) => x !== undefined);
    lines.push(`  ${names.padEnd(34)} ${f.help}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`);
  }
  lines.push('  -h, --help                           show this help');
  return lines.join('\n') + '\n';
}

export function stringFlag(values: FlagValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string') throw new UsageError(`--${name} is required`);
  return v;
}

export function listFlag(values: FlagValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : [];
}
