/**
 * `sluice inspect`: what the kernel enforces, read back from the pinned eBPF
 * maps (or, with --datapath iptables, sluice's sets and chains), in
 * Kubernetes terms. Read-only; works next to a running agent.
 */
import { UsageError } from '../../util/errors.js';
import type { CommandDef, FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';

export const INSPECT_VIEWS = ['endpoints', 'policy', 'peers', 'ct', 'stats'] as const;
type View = (typeof INSPECT_VIEWS)[number];

export const inspectCommand: CommandDef = {
  name: 'inspect',
  summary:
    'Prints what the datapath enforces, read from the kernel: endpoints, the allow rules of one pod (policy NS/POD), peer classes, connection tracking, per-pod counters. Read-only.',
  usage: 'sluice inspect [endpoints|policy NS/POD|peers|ct|stats] [--pin-root DIR] [--output text|json]',
  flags: [
    {
      name: 'pin-root',
      type: 'string',
      value: 'DIR',
      default: '/sys/fs/bpf/sluice',
      env: 'SLUICE_PIN_ROOT',
      help: 'for eBPF: bpffs directory of the pinned maps',
    },
    {
      name: 'datapath',
      type: 'string',
      value: 'KIND',
      choices: ['ebpf', 'iptables'],
      default: 'ebpf',
      help: 'which datapath to read; iptables lists sluice ipsets (with member counts) and SLUICE chains',
    },
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      choices: ['text', 'json'],
      default: 'text',
      help: 'output format',
    },
    {
      name: 'netns',
      type: 'string',
      value: 'NAME',
      help: 'for iptables: read the rules of this network namespace (tests and debugging)',
    },
  ],
};

/** JSON with bigint counters as numbers (exact below 2^53, which packet counters stay under). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
}

function parseView(positional: readonly string[]): { view: View; pod: string | undefined } {
  const [first = 'endpoints', second, extra] = positional;
  if (!(INSPECT_VIEWS as readonly string[]).includes(first)) {
    throw new UsageError(`inspect: unknown view '${first}' (one of ${INSPECT_VIEWS.join(', ')})`);
  }
  const view = first as View;
  if (view === 'policy' && (second === undefined || !second.includes('/'))) {
    throw new UsageError("inspect: 'policy' needs a pod as NAMESPACE/NAME");
  }
  if ((view !== 'policy' && second !== undefined) || extra !== undefined) {
    throw new UsageError(`inspect: unexpected argument '${extra ?? second ?? ''}'`);
  }
  return { view, pod: view === 'policy' ? second : undefined };
}

export async function runInspect(values: FlagValues, io: Io, positional: string[] = []): Promise<number> {
  const json = values['output'] === 'json';
  if (values['datapath'] === 'iptables') {
    const { readIptablesState } = await import('../../datapath/iptables/inspect.js');
    const netns = typeof values['netns'] === 'string' ? values['netns'] : undefined;
    const state = await readIptablesState(netns === undefined ? {} : { netns });
    if (json) io.out(`${toJson(state)}\n`);
    else {
      const lines = [`${'SET'.padEnd(32)} ${'TYPE'.padEnd(16)} MEMBERS`];
      for (const s of state.sets) lines.push(`${s.name.padEnd(32)} ${s.type.padEnd(16)} ${s.members}`);
      for (const c of state.chains) lines.push(`chain v${c.family} ${c.name}: ${c.rules} rules`);
      for (const j of state.jumps) lines.push(`jump v${j.family} ${j.from} -> ${j.to}`);
      io.out(`${lines.join('\n')}\n`);
    }
    return EXIT.OK;
  }
  const { view, pod } = parseView(positional);
  const pinRoot = typeof values['pin-root'] === 'string' ? values['pin-root'] : '/sys/fs/bpf/sluice';
  const { inspectView } = await import('../../datapath/ebpf/inspect-views.js');
  const result = inspectView(pinRoot, view, pod);
  io.out(json ? `${toJson(result.data)}\n` : result.text);
  return result.found ? EXIT.OK : EXIT.FAILURE;
}
