import { SluiceError, UsageError } from '../util/errors.js';
import { agentCommand, runAgentCommand } from './commands/agent.js';
import { cleanupCommand, runCleanup } from './commands/cleanup.js';
import { explainCommand, runExplain } from './commands/explain.js';
import { inspectCommand, runInspect } from './commands/inspect.js';
import { labCommand, runLab } from './commands/lab.js';
import { monitorCommand, runMonitor } from './commands/monitor.js';
import { probeCommand, runProbeCommand } from './commands/probe.js';
import { runSimulate, simulateCommand } from './commands/simulate.js';
import { helpText, parseFlags, type CommandDef, type FlagValues } from './flags.js';
import { EXIT, processIo, type Io } from './io.js';

interface Command {
  readonly def: CommandDef;
  readonly run: (values: FlagValues, io: Io, positional: string[]) => Promise<number>;
}

export const COMMANDS: readonly Command[] = [
  { def: simulateCommand, run: runSimulate },
  { def: explainCommand, run: runExplain },
  { def: agentCommand, run: runAgentCommand },
  { def: inspectCommand, run: runInspect },
  { def: monitorCommand, run: runMonitor },
  { def: cleanupCommand, run: runCleanup },
  { def: probeCommand, run: runProbeCommand },
  { def: labCommand, run: runLab },
];

function topHelp(): string {
  const lines = [
    'Usage: sluice <command> [flags]',
    '',
    'sluice enforces Kubernetes NetworkPolicy on a node.',
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) lines.push(`  ${c.def.name.padEnd(10)} ${firstSentence(c.def.summary)}`);
  lines.push('', "Run 'sluice <command> --help' for a command's flags.");
  return lines.join('\n') + '\n';
}

function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return (end < 0 ? text : text.slice(0, end)).replace(/\.$/, '');
}

/** argv → exit code. 0 ok, 1 runtime failure, 2 bad input or usage, 3 no datapath can run. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.def.name === name);
  if (command === undefined) {
    io.err(`sluice: unknown command '${name}'\n\n${topHelp()}`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(helpText(command.def));
    return EXIT.OK;
  }
  try {
    const { values, positional } = parseFlags(command.def, rest, io.env);
    return await command.run(values, io, positional);
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  if (err instanceof UsageError) {
    io.err(`sluice: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof SluiceError) {
    io.err(`sluice: ${err.message}\n`);
    return err.code === 'SLUICE_MANIFEST_INVALID' || err.code === 'SLUICE_MANIFEST_UNREADABLE'
      ? EXIT.USAGE
      : EXIT.FAILURE;
  }
  io.err(`sluice: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.FAILURE;
}
