/**
 * `sluice agent` flags, as data (the parser, --help and docs/flags.md all read
 * this table), and their reading into a validated AgentConfig.
 */
import type { ConntrackChoice } from './conntrack-choice.js';
import os from 'node:os';
import type { CommandDef, FlagValues } from '../cli/flags.js';
import type { DatapathKind } from '../datapath/types.js';
import { UsageError } from '../util/errors.js';
import { LOG_LEVELS, type LogLevel } from '../util/log.js';
import { parseDuration } from './duration.js';

export const agentCommand: CommandDef = {
  name: 'agent',
  summary:
    'Runs on a node: watches the cluster (Kubernetes API or a manifest directory), compiles the NetworkPolicies for this node and keeps the kernel enforcing them. SIGTERM leaves enforcement in place.',
  usage: 'sluice agent (--kubeconfig PATH | --manifests DIR | in-cluster) [flags]',
  flags: [
    {
      name: 'node-name',
      type: 'string',
      value: 'NAME',
      env: 'NODE_NAME',
      help: 'this node: pods whose spec.nodeName equals it are enforced here (default: the hostname)',
    },
    {
      name: 'manifests',
      type: 'string',
      value: 'DIR',
      env: 'SLUICE_MANIFESTS',
      help: 'read cluster state from this directory of YAML/JSON manifests, re-read when it changes',
    },
    {
      name: 'kubeconfig',
      type: 'string',
      value: 'PATH',
      env: 'KUBECONFIG',
      help: 'watch the API server of this kubeconfig (without it and --manifests: in-cluster configuration)',
    },
    {
      name: 'datapath',
      type: 'string',
      value: 'KIND',
      choices: ['auto', 'ebpf', 'iptables'],
      default: 'auto',
      env: 'SLUICE_DATAPATH',
      help: 'enforcement backend; auto picks by what the kernel offers',
    },
    {
      name: 'enforcement',
      type: 'string',
      value: 'MODE',
      choices: ['policy', 'audit'],
      default: 'policy',
      env: 'SLUICE_ENFORCEMENT',
      help: 'audit: every policy on this node only reports what it would deny (as with the annotation sluice.io/enforcement: audit); policy: each policy as its annotation says',
    },
    {
      name: 'debounce',
      type: 'string',
      value: 'DURATION',
      default: '100ms',
      env: 'SLUICE_DEBOUNCE',
      help: 'minimum interval between syncs: a burst of changes is applied once',
    },
    {
      name: 'idle-gc',
      type: 'string',
      value: 'DURATION',
      default: '2s',
      env: 'SLUICE_IDLE_GC',
      help: 'after a sync, once this long idle, collect garbage so memory returns to the live size; 0 turns it off',
    },
    {
      name: 'small-heap',
      type: 'boolean',
      default: true,
      env: 'SLUICE_SMALL_HEAP',
      help: "have V8 favour memory over speed (its --optimize-for-size): at 10,000 pods about half the RSS for about twice the sync time; --small-heap=false for the engine's defaults",
    },
    {
      name: 'sync-period',
      type: 'string',
      value: 'DURATION',
      default: '5m',
      env: 'SLUICE_SYNC_PERIOD',
      help: 'period of the full resync that repairs drift in the kernel',
    },
    {
      name: 'cache-sync-timeout',
      type: 'string',
      value: 'DURATION',
      default: '1m',
      env: 'SLUICE_CACHE_SYNC_TIMEOUT',
      help: 'how long to wait for the initial state before reporting it overdue (nothing is applied before it)',
    },
    {
      name: 'health-port',
      type: 'number',
      value: 'PORT',
      default: 9101,
      env: 'SLUICE_HEALTH_PORT',
      help: 'port for /healthz and /readyz; 0 turns them off',
    },
    {
      name: 'health-addr',
      type: 'string',
      value: 'ADDR',
      default: '0.0.0.0',
      env: 'SLUICE_HEALTH_ADDR',
      help: 'address for the health endpoints',
    },
    {
      name: 'metrics-port',
      type: 'number',
      value: 'PORT',
      default: 9102,
      env: 'SLUICE_METRICS_PORT',
      help: 'port for /metrics (may equal --health-port); 0 turns it off',
    },
    {
      name: 'metrics-addr',
      type: 'string',
      value: 'ADDR',
      default: '0.0.0.0',
      env: 'SLUICE_METRICS_ADDR',
      help: 'address for /metrics',
    },
    {
      name: 'log-level',
      type: 'string',
      value: 'LEVEL',
      choices: LOG_LEVELS,
      default: 'info',
      env: 'SLUICE_LOG_LEVEL',
      help: 'JSON log level',
    },
    {
      name: 'cleanup-on-exit',
      type: 'boolean',
      env: 'SLUICE_CLEANUP_ON_EXIT',
      help: 'on SIGTERM remove everything the datapath created, instead of leaving enforcement in place',
    },
    {
      name: 'log-denied',
      type: 'boolean',
      default: true,
      env: 'SLUICE_LOG_DENIED',
      help: 'log denied flows (eBPF datapath: from the sluice_events ring buffer), rate-limited. A ring buffer has one reader position: while this agent reads it, `sluice monitor` sees only part of the events; pass --log-denied=false to watch with sluice monitor',
    },
    {
      name: 'service-cidr',
      type: 'list',
      value: 'CIDR',
      env: 'SLUICE_SERVICE_CIDRS',
      help: 'Service ClusterIP range: egress to it is judged on the real backend after DNAT',
    },
    {
      name: 'uplink',
      type: 'list',
      value: 'IFACE',
      env: 'SLUICE_UPLINKS',
      help: "interfaces where egress to a Service's backend on another node is judged (eBPF); default: every interface the node's routes lead off through (default routes, gateways, subnets), rescanned",
    },
    {
      name: 'host-address',
      type: 'list',
      value: 'IP',
      env: 'SLUICE_HOST_ADDRESSES',
      help: "the node's own addresses, always allowed to reach local pods (default: every address of the node's interfaces)",
    },
    {
      name: 'ct-entries',
      type: 'number',
      value: 'N',
      env: 'SLUICE_CT_ENTRIES',
      help: 'for eBPF: connection-tracking map size, used when the map is created (default: the datapath default)',
    },
    {
      name: 'pin-root',
      type: 'string',
      value: 'DIR',
      default: '/sys/fs/bpf/sluice',
      env: 'SLUICE_PIN_ROOT',
      help: 'for eBPF: bpffs directory of the pinned maps, programs and links',
    },
    {
      name: 'conntrack',
      type: 'string',
      value: 'STATE',
      choices: ['auto', 'table', 'kernel'],
      default: 'auto',
      env: 'SLUICE_CONNTRACK',
      help: "for eBPF: where flows are tracked. kernel: TCP and UDP flows in the kernel's conntrack, through its kfuncs (nf_conntrack must be loaded; `sluice probe` says so), the table keeps the rest. table: sluice's own connection table (sluice_ct) for all. auto: kernel where the kfuncs exist. Picks the default --bpf-object",
    },
    {
      name: 'bpf-object',
      type: 'string',
      value: 'PATH',
      env: 'SLUICE_BPF_OBJECT',
      help: 'for eBPF: the compiled tc programs (default: build/bpf/sluice.bpf.o of the installation, or sluice-kct.bpf.o with --conntrack kernel)',
    },
    {
      name: 'netns',
      type: 'string',
      value: 'NAME',
      env: 'SLUICE_NETNS',
      help: "enforce on the interfaces of this network namespace instead of the agent's own (used by sluice lab; pass --host-address too)",
    },
  ],
};

export type DatapathChoice = DatapathKind | 'auto';

export interface AgentConfig {
  readonly nodeName: string;
  readonly manifests: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly datapath: DatapathChoice;
  /** `audit`: every policy is audited (`--enforcement audit`). */
  readonly enforcement: 'policy' | 'audit';
  readonly debounceMs: number;
  readonly idleGcMs: number;
  readonly smallHeap: boolean;
  readonly syncPeriodMs: number;
  readonly cacheSyncTimeoutMs: number;
  readonly healthPort: number;
  readonly healthAddr: string;
  readonly metricsPort: number;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  readonly cleanupOnExit: boolean;
  readonly logDenied: boolean;
  readonly serviceCidrs: readonly string[];
  readonly hostAddresses: readonly string[] | undefined;
  /** Given with --uplink; otherwise found in the route table. */
  readonly uplinks: readonly string[] | undefined;
  readonly ctEntries: number | undefined;
  readonly pinRoot: string;
  readonly bpfObject: string | undefined;
  /** eBPF flow state: `kernel` loads the build that keeps TCP and UDP flows in nf_conntrack. */
  readonly conntrack: ConntrackChoice;
  /** Present only when given (--netns): the network namespace whose interfaces are enforced. */
  readonly netns?: string;
}

const str = (v: FlagValues[string]): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: FlagValues[string]): string[] =>
  Array.isArray(v) ? v.flatMap((x) => x.split(',')).filter((x) => x !== '') : [];

function port(v: FlagValues[string], flag: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new UsageError(`agent: --${flag} must be an integer from 0 to 65535, got '${String(v)}'`);
  }
  return v;
}

function netnsOf(values: FlagValues): { netns?: string } {
  const netns = str(values['netns']);
  return netns === undefined ? {} : { netns };
}

/** Flag values (after parseFlags) → a validated config; UsageError naming the flag otherwise. */
export function readAgentConfig(values: FlagValues): AgentConfig {
  const duration = (flag: string): number => parseDuration(str(values[flag]) ?? '', flag);
  const ct = values['ct-entries'];
  if (ct !== undefined && (typeof ct !== 'number' || !Number.isInteger(ct) || ct < 1)) {
    throw new UsageError(`agent: --ct-entries must be a positive integer, got '${String(ct)}'`);
  }
  const syncPeriodMs = duration('sync-period');
  if (syncPeriodMs < 1000) throw new UsageError('agent: --sync-period must be at least 1s');
  const hosts = list(values['host-address']);
  const uplinks = list(values['uplink']);
  return {
    nodeName: str(values['node-name']) ?? os.hostname(),
    manifests: str(values['manifests']),
    kubeconfig: str(values['kubeconfig']),
    datapath: (str(values['datapath']) ?? 'auto') as DatapathChoice,
    enforcement: str(values['enforcement']) === 'audit' ? 'audit' : 'policy',
    debounceMs: duration('debounce'),
    idleGcMs: duration('idle-gc'),
    smallHeap: values['small-heap'] !== false,
    syncPeriodMs,
    cacheSyncTimeoutMs: duration('cache-sync-timeout'),
    healthPort: port(values['health-port'], 'health-port'),
    healthAddr: str(values['health-addr']) ?? '0.0.0.0',
    metricsPort: port(values['metrics-port'], 'metrics-port'),
    metricsAddr: str(values['metrics-addr']) ?? '0.0.0.0',
    logLevel: (str(values['log-level']) ?? 'info') as LogLevel,
    cleanupOnExit: values['cleanup-on-exit'] === true,
    logDenied: values['log-denied'] !== false,
    serviceCidrs: list(values['service-cidr']),
    hostAddresses: hosts.length > 0 ? hosts : undefined,
    uplinks: uplinks.length > 0 ? uplinks : undefined,
    ctEntries: typeof ct === 'number' ? ct : undefined,
    pinRoot: str(values['pin-root']) ?? '/sys/fs/bpf/sluice',
    bpfObject: str(values['bpf-object']),
    conntrack: (str(values['conntrack']) ?? 'auto') as ConntrackChoice,
    ...netnsOf(values),
  };
}
