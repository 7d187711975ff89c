/**
 * `sluice monitor`: streams the datapath's verdict events live, one line (or
 * one JSON object) per event, with pod names, protocol, ports and the
 * deciding policy. Runs until SIGINT or SIGTERM.
 *
 * A ring buffer has one read position for all its readers: while an agent
 * runs with --log-denied it takes a share of the events (see
 * src/agent/verdict-log.ts), which the start-up note on stderr says.
 */
import { UsageError } from '../../util/errors.js';
import type { CommandDef, FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';

export const monitorCommand: CommandDef = {
  name: 'monitor',
  summary:
    'Streams verdict events of the eBPF datapath live: drops by default, would-denies of audited policies with --type would-deny, allows of new flows with --type allow|all. Stops on SIGINT or SIGTERM.',
  usage: 'sluice monitor [--type drop|allow|would-deny|all] [--pod NS/NAME] [--output text|json] [--pin-root DIR]',
  flags: [
    {
      name: 'type',
      type: 'string',
      value: 'TYPE',
      choices: ['drop', 'allow', 'would-deny', 'all'],
      default: 'drop',
      help: 'which verdicts to show; would-deny: what audited policies let pass that they would deny; allow and all turn on allow events in the datapath while running',
    },
    {
      name: 'pod',
      type: 'string',
      value: 'NS/NAME',
      help: 'only events whose source, destination or judging endpoint is this pod',
    },
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      choices: ['text', 'json'],
      default: 'text',
      help: 'one line of text, or one JSON object, per event',
    },
    {
      name: 'pin-root',
      type: 'string',
      value: 'DIR',
      default: '/sys/fs/bpf/sluice',
      env: 'SLUICE_PIN_ROOT',
      help: 'bpffs directory of the pinned maps',
    },
  ],
};

export interface MonitorDeps {
  /** Stops the monitor (tests); by default SIGINT or SIGTERM. */
  readonly stop?: Promise<unknown>;
  /** Called once the ring buffer is open and the datapath configured. */
  readonly ready?: () => void;
}

function signalled(): { promise: Promise<void>; dispose(): void } {
  let on: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    on = () => resolve();
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

const VERDICT_OF_TYPE: Readonly<Record<string, string>> = { drop: 'DROP', allow: 'ALLOW', 'would-deny': 'WOULD-DENY' };

export async function runMonitor(
  values: FlagValues,
  io: Io,
  positional: string[] = [],
  deps: MonitorDeps = {},
): Promise<number> {
  if (positional.length > 0) throw new UsageError(`monitor: unexpected argument '${positional[0] ?? ''}'`);
  const type = typeof values['type'] === 'string' ? values['type'] : 'drop';
  const pod = typeof values['pod'] === 'string' ? values['pod'] : undefined;
  if (pod !== undefined && !pod.includes('/')) throw new UsageError('monitor: --pod wants NAMESPACE/NAME');
  const json = values['output'] === 'json';
  const pinRoot = typeof values['pin-root'] === 'string' ? values['pin-root'] : '/sys/fs/bpf/sluice';
  const { EventStream, eventLine } = await import('../../datapath/ebpf/events-reader.js');
  const signals = deps.stop === undefined ? signalled() : undefined;
  const stream = new EventStream({
    pinRoot,
    allow: type === 'allow' || type === 'all',
    // Would-denies are reported like denies: they need deny events on.
    drops: type !== 'allow',
    onEvent: (e) => {
      if (type !== 'all' && e.verdict !== VERDICT_OF_TYPE[type]) return;
      if (pod !== undefined && e.pod !== pod && e.srcPod !== pod && e.dstPod !== pod) return;
      io.out(json ? `${JSON.stringify(e)}\n` : `${eventLine(e)}\n`);
    },
  });
  io.err(
    `listening on ${pinRoot}/sluice_events (${type} events; an agent running with --log-denied takes a share of them); Ctrl-C to stop\n`,
  );
  try {
    deps.ready?.();
    await (deps.stop ?? signals?.promise);
  } finally {
    signals?.dispose();
    stream.close();
  }
  return EXIT.OK;
}
