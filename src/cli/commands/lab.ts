import { fileURLToPath } from 'node:url';
import type { DatapathKind } from '../../datapath/types.js';
import { labApply, labDelete, labDown, labUp } from '../../lab/lab.js';
import type { Topology } from '../../lab/netns.js';
import { probeMatrix, type ProbeProtocol } from '../../lab/probe.js';
import { DEFAULT_LAB_NAME, DEFAULT_STATE_DIR, requireState } from '../../lab/state.js';
import { UsageError } from '../../util/errors.js';
import { listFlag, stringFlag, type CommandDef, type FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';
import { formatMatrixTable } from '../matrix-table.js';
import { requirePaths, validPort } from './common.js';

export const labCommand: CommandDef = {
  name: 'lab',
  summary:
    'A one-node cluster of network namespaces on this machine, enforced by the agent: see what policies do with real packets. up builds it (without -f: the TKE demo), apply/delete change policies and labels, probe measures reachability, down removes it. Needs root.',
  usage:
    'sluice lab up [-f PATH ...] [--datapath ebpf|iptables] [--topology routed|bridge] | apply -f FILE | delete -f FILE | probe --port N [--protocol TCP|UDP] [--output json|table] | down   [--state-dir DIR]',
  flags: [
    { name: 'file', short: 'f', type: 'list', value: 'PATH', help: 'up, apply, delete: YAML file or directory' },
    {
      name: 'datapath',
      type: 'string',
      value: 'KIND',
      choices: ['ebpf', 'iptables'],
      default: 'ebpf',
      help: 'up: enforcement backend of the lab agent',
    },
    {
      name: 'topology',
      type: 'string',
      value: 'KIND',
      choices: ['routed', 'bridge'],
      default: 'routed',
      help: 'up: pods behind host routes (routed) or on a bridge',
    },
    {
      name: 'state-dir',
      type: 'string',
      value: 'DIR',
      default: DEFAULT_STATE_DIR,
      env: 'SLUICE_LAB_STATE_DIR',
      help: 'where the lab keeps its manifests, pids and logs',
    },
    {
      name: 'name',
      type: 'string',
      value: 'NAME',
      default: DEFAULT_LAB_NAME,
      help: 'up: prefix of the lab namespaces and of its bpffs pin directory /sys/fs/bpf/NAME',
    },
    { name: 'port', type: 'number', value: 'N', help: 'probe: destination port' },
    {
      name: 'protocol',
      type: 'string',
      value: 'PROTO',
      choices: ['TCP', 'UDP'],
      default: 'TCP',
      help: 'probe: protocol',
    },
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      choices: ['table', 'json'],
      default: 'table',
      help: 'probe: output format (json: the shape of sluice simulate)',
    },
    { name: 'timeout', type: 'number', value: 'MS', default: 500, help: 'probe: per-connection timeout' },
  ],
};

const DEMO = ['cluster.yaml', '3-nsa-from-nsb-6379.yaml'].map((f) =>
  fileURLToPath(new URL(`../../../examples/tke/${f}`, import.meta.url)),
);
const DEMO_PORT = 6379;
const DEMO_NEXT = fileURLToPath(new URL('../../../examples/tke/2-nsa-deny-all-ingress.yaml', import.meta.url));

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new UsageError('lab: needs root (network namespaces, BPF, netfilter)');
}

async function up(values: FlagValues, io: Io, stateDir: string): Promise<number> {
  const files = listFlag(values, 'file');
  const demo = files.length === 0;
  const lab = await labUp({
    paths: demo ? DEMO : files,
    datapath: stringFlag(values, 'datapath') as DatapathKind,
    topology: stringFlag(values, 'topology') as Topology,
    stateDir,
    name: stringFlag(values, 'name'),
  });
  io.err(
    `lab up: ${lab.pods.length} pods on lab-node (${lab.datapath}, ${lab.topology}); agent pid ${lab.agentPid ?? '?'} on 127.0.0.1:${lab.port}; state in ${stateDir}\n`,
  );
  if (demo) {
    io.out(`Demo: ${DEMO.join(', ')}\n\n`);
    io.out(formatMatrixTable(await probeMatrix(lab.pods, { port: DEMO_PORT, protocol: 'TCP' })));
    io.out(
      `\nMeasured with real connections. Next: sluice lab apply -f ${DEMO_NEXT}; sluice lab probe --port ${DEMO_PORT}; sluice lab down\n`,
    );
  }
  return EXIT.OK;
}

async function probe(values: FlagValues, io: Io, stateDir: string): Promise<number> {
  const lab = await requireState(stateDir, 'probe');
  const port = validPort(labCommand, values['port']);
  const timeout = values['timeout'];
  const matrix = await probeMatrix(lab.pods, {
    port,
    protocol: stringFlag(values, 'protocol') as ProbeProtocol,
    ...(typeof timeout === 'number' && timeout > 0 ? { timeoutMs: timeout } : {}),
  });
  io.out(values['output'] === 'json' ? JSON.stringify(matrix) + '\n' : formatMatrixTable(matrix));
  return EXIT.OK;
}

export async function runLab(values: FlagValues, io: Io, positional: string[]): Promise<number> {
  const [sub, ...extra] = positional;
  if (extra.length > 0) throw new UsageError(`lab: unexpected argument '${extra[0] ?? ''}'`);
  const stateDir = stringFlag(values, 'state-dir');
  switch (sub) {
    case 'up':
      requireRoot();
      return up(values, io, stateDir);
    case 'apply':
      await labApply(stateDir, requirePaths(labCommand, listFlag(values, 'file')));
      return EXIT.OK;
    case 'delete':
      await labDelete(stateDir, requirePaths(labCommand, listFlag(values, 'file')));
      return EXIT.OK;
    case 'probe':
      return probe(values, io, stateDir);
    case 'down':
      requireRoot();
      io.err(
        (await labDown(stateDir)) ? `lab down: removed the lab of ${stateDir}\n` : `lab down: no lab in ${stateDir}\n`,
      );
      return EXIT.OK;
    default:
      throw new UsageError(`lab: want one of up, apply, delete, probe, down; got '${sub ?? ''}'`);
  }
}
