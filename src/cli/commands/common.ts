import type { CompileOptions } from '../../compiler/compile.js';
import { UsageError } from '../../util/errors.js';
import type { CommandDef, FlagDef, FlagValues } from '../flags.js';
import type { Io } from '../io.js';

export function requirePaths(cmd: CommandDef, paths: string[]): string[] {
  if (paths.length === 0) throw new UsageError(`${cmd.name}: at least one -f PATH is required`);
  return paths;
}

export function validPort(cmd: CommandDef, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new UsageError(`${cmd.name}: --port must be an integer from 1 to 65535, got '${String(value)}'`);
  }
  return value;
}

export interface Warning {
  readonly file?: string;
  readonly object?: string;
  readonly message: string;
}

/** Warnings go to stderr so stdout stays machine-readable. */
export function reportWarnings(warnings: readonly Warning[], io: Io): void {
  for (const w of warnings) {
    const where = [w.file, w.object].filter((x) => x !== undefined && x !== '').join(': ');
    io.err(`warning: ${where === '' ? '' : `${where}: `}${w.message}\n`);
  }
}

/**
 * `--enforcement` of simulate and explain, the same modes as the agent's
 * flag, so an offline answer can match what an agent in audit mode reports.
 * No environment variable: an offline tool should not pick up the agent's.
 */
export const enforcementFlag: FlagDef = {
  name: 'enforcement',
  type: 'string',
  value: 'MODE',
  choices: ['policy', 'audit'],
  default: 'policy',
  help: "audit: every policy only reports what it would deny, as under the agent's --enforcement audit; policy: each policy as its annotation sluice.io/enforcement says",
};

/** Compile options for the `--enforcement` value: `audit` compiles every policy as audited. */
export function compileOptionsOf(values: FlagValues): CompileOptions {
  return values['enforcement'] === 'audit' ? { enforcement: 'audit' } : {};
}
