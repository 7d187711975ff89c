import { compile } from '../../compiler/compile.js';
import { reachability } from '../../compiler/reachability.js';
import type { Protocol } from '../../model/k8s.js';
import { loadManifestPaths } from '../../source/manifest-files.js';
import { listFlag, stringFlag, type CommandDef, type FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';
import { formatMatrixTable } from '../matrix-table.js';
import { compileOptionsOf, enforcementFlag, reportWarnings, requirePaths, validPort } from './common.js';

export const simulateCommand: CommandDef = {
  name: 'simulate',
  summary:
    'Print which pods may reach which on one port, from manifests alone (Namespaces, Pods with status.podIP(s), NetworkPolicies, ClusterNetworkPolicies). Pairs that pass only because the policies that would deny them are audited are marked apart. Nothing touches the kernel.',
  usage:
    'sluice simulate -f PATH [-f PATH ...] --port N --protocol TCP|UDP|SCTP [--enforcement policy|audit] [--output json|table]',
  flags: [
    {
      name: 'file',
      short: 'f',
      type: 'list',
      value: 'PATH',
      help: 'YAML file or directory of manifests',
      required: true,
    },
    { name: 'port', type: 'number', value: 'N', help: 'destination port', required: true },
    {
      name: 'protocol',
      type: 'string',
      value: 'PROTO',
      help: 'protocol',
      choices: ['TCP', 'UDP', 'SCTP'],
      default: 'TCP',
    },
    enforcementFlag,
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      help: 'output format',
      choices: ['table', 'json'],
      default: 'table',
    },
  ],
};

export async function runSimulate(values: FlagValues, io: Io): Promise<number> {
  const paths = requirePaths(simulateCommand, listFlag(values, 'file'));
  const port = validPort(simulateCommand, values['port']);
  const protocol = stringFlag(values, 'protocol') as Protocol;
  const loaded = await loadManifestPaths(paths);
  reportWarnings(loaded.warnings, io);
  const model = compile(loaded.snapshot, undefined, compileOptionsOf(values));
  reportWarnings(model.warnings, io);
  const matrix = reachability(loaded.snapshot, protocol, port, model);
  io.out(values['output'] === 'json' ? JSON.stringify(matrix) + '\n' : formatMatrixTable(matrix));
  return EXIT.OK;
}
