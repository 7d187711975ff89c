import { runProbe, type ProbeReport } from '../../datapath/probe.js';
import { UsageError } from '../../util/errors.js';
import type { CommandDef, FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';

export const probeCommand: CommandDef = {
  name: 'probe',
  summary:
    'Check what each datapath needs on this node, one line per check with the reason (errno text), and print the datapath `--datapath auto` would choose. Exit 0 when some datapath can run, 3 when none can. Every kernel object the checks create is removed.',
  usage: 'sluice probe [--output json|table] [--bpf-object PATH]',
  flags: [
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      help: 'output format',
      choices: ['table', 'json'],
      default: 'table',
    },
    {
      name: 'bpf-object',
      type: 'string',
      value: 'PATH',
      env: 'SLUICE_BPF_OBJECT',
      help: 'compiled BPF object to load as a check (default: build/bpf/sluice.bpf.o of this installation)',
    },
  ],
};

const DEFAULT_BPF_OBJECT = new URL('../../../build/bpf/sluice.bpf.o', import.meta.url).pathname;

/** One line per check, aligned; the last line is the choice. Pure. */
export function formatProbeTable(report: ProbeReport): string {
  const rows = report.checks.map((c) => [c.datapath, c.name, c.ok ? 'pass' : 'FAIL', c.need, c.reason]);
  const header = ['DATAPATH', 'CHECK', 'RESULT', 'NEED', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const { datapath, reason } = report.choice;
  const last = datapath === undefined ? `auto: no datapath can run: ${reason}` : `auto: ${datapath} (${reason})`;
  return [line(header), ...rows.map(line), '', last].join('\n') + '\n';
}

export async function runProbeCommand(values: FlagValues, io: Io, positional: string[] = []): Promise<number> {
  if (positional.length > 0) throw new UsageError(`probe: unexpected argument '${positional[0] ?? ''}'`);
  const objectPath = typeof values['bpf-object'] === 'string' ? values['bpf-object'] : DEFAULT_BPF_OBJECT;
  const report = await runProbe({ objectPath });
  // JSON says `"datapath": null` when nothing can run, rather than leaving the key out.
  const json = { ...report, choice: { ...report.choice, datapath: report.choice.datapath ?? null } };
  if (values['output'] === 'json') io.out(`${JSON.stringify(json, null, 2)}\n`);
  else io.out(formatProbeTable(report));
  return report.choice.datapath === undefined ? EXIT.NO_DATAPATH : EXIT.OK;
}
