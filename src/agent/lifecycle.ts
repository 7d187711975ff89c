/**
 * The agent's wiring and lifetime: datapath, state, reconciler, interface
 * scanner, HTTP endpoints; then wait for a stop signal. On stop the source
 * and timers stop and the kernel keeps enforcing the last model (pinned maps
 * and programs, or iptables chains and sets), so a restart or upgrade leaves
 * no window without enforcement; `cleanupOnExit` removes it all instead.
 */
import { kernelConntrackCheck } from '../datapath/probe-kct.js';
import { chooseConntrack } from './conntrack-choice.js';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCompiler, type Compiler } from '../compiler/compile.js';
import type { CompiledPolicy } from '../model/compiled.js';
import { probeAutoSelect, requireDatapath } from '../datapath/probe-select.js';
import type { Datapath, NodeContext } from '../datapath/types.js';
import type { Source } from '../source/types.js';
import { ClusterState } from '../state/cluster-state.js';
import type { Logger } from '../util/log.js';
import { createDatapath, type AutoSelect } from './datapath-factory.js';
import type { AgentConfig } from './flags.js';
import { liveness, readiness } from './health.js';
import { IdleGc, preferSmallHeap } from './memory.js';
import { metricsRoute, serveRoutes, verdictRoute, type Route, type RunningServer } from './http.js';
import { AgentMetrics } from './metrics.js';
import { WouldDenyMetric } from './would-deny.js';
import { NodeInterfaces } from './node-interfaces.js';
import { Reconciler, type CompileFn } from './reconciler.js';
import { combineObservers, KernelObservers } from './verdict-log.js';

export interface AgentDeps {
  readonly log: Logger;
  /** Resolves with the reason (signal name) when the agent should stop. */
  readonly shutdown: Promise<string>;
  readonly datapath?: (config: AgentConfig) => Promise<Datapath>;
  readonly autoSelect?: AutoSelect;
  readonly compile?: CompileFn;
  readonly interfaces?: NodeInterfaces;
  /** Called once everything listens (tests read the ephemeral ports here). */
  readonly onStarted?: (agent: { readonly servers: readonly RunningServer[]; readonly reconciler: Reconciler }) => void;
}

/** The object of each --conntrack choice: bpf/sluice_tc.bpf.c, and its build with kernel conntrack. */
const DEFAULT_BPF_OBJECTS = {
  table: fileURLToPath(new URL('../../build/bpf/sluice.bpf.o', import.meta.url)),
  kernel: fileURLToPath(new URL('../../build/bpf/sluice-kct.bpf.o', import.meta.url)),
} as const;

/** The object of the --conntrack choice, logged with why (only the eBPF datapath loads it). */
function defaultObject(config: AgentConfig, log: Logger): string {
  const decision = chooseConntrack(config.conntrack, kernelConntrackCheck);
  if (config.datapath !== 'iptables') log.info({ conntrack: decision.conntrack }, decision.reason);
  return DEFAULT_BPF_OBJECTS[decision.conntrack];
}

/**
 * Without an injected chooser, the capability probe decides: `auto` takes
 * its choice (logged with the failed checks), an explicit kind must pass its
 * checks or the agent does not start.
 */
async function defaultDatapath(
  config: AgentConfig,
  autoSelect: AutoSelect | undefined,
  log: Logger,
): Promise<Datapath> {
  const objectPath = config.bpfObject ?? defaultObject(config, log);
  const options = {
    pinRoot: config.pinRoot,
    objectPath,
    ...(config.ctEntries === undefined ? {} : { ctEntries: config.ctEntries }),
    ...(config.netns === undefined ? {} : { netns: config.netns }),
  };
  const probe = { objectPath: options.objectPath, bpffs: dirname(config.pinRoot) };
  if (autoSelect === undefined && config.datapath !== 'auto') await requireDatapath(config.datapath, probe);
  return createDatapath(config.datapath, options, autoSelect ?? probeAutoSelect(log, probe));
}

/**
 * Every address on the node's interfaces (loopback excluded), each once: a
 * routed CNI puts the same gateway address on every host veth, and a set
 * (ipset) refuses a duplicate member.
 */
export function nodeAddresses(): string[] {
  const all = Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .map((a) => a.address.replace(/%.*$/, ''));
  return [...new Set(all)];
}

interface Assembled {
  readonly datapath: Datapath;
  readonly interfaces: NodeInterfaces;
  readonly metrics: AgentMetrics;
  readonly reconciler: Reconciler;
  readonly idleGc: IdleGc;
  readonly kernel: KernelObservers | undefined;
}

function idleCollector(config: AgentConfig, log: Logger): IdleGc {
  const gcLog = log.child({ component: 'idle-gc' });
  return new IdleGc(config.idleGcMs, undefined, (ms) => {
    const m = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    gcLog.debug(
      { ms, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external) },
      'collected',
    );
  });
}

/** `--enforcement audit` compiles every policy as audited. */
function compilerFor(config: AgentConfig, log: Logger): Compiler {
  if (config.enforcement !== 'audit') return createCompiler();
  log.warn('--enforcement audit: no policy denies anything on this node; what policies would deny is reported instead');
  return createCompiler({ enforcement: 'audit' });
}

async function assemble(config: AgentConfig, source: Source, deps: AgentDeps): Promise<Assembled> {
  const log = deps.log.child({ component: 'agent' });
  if (config.smallHeap) preferSmallHeap();
  const datapath = await (deps.datapath ?? ((c) => defaultDatapath(c, deps.autoSelect, log)))(config);
  log.info({ node: config.nodeName, datapath: datapath.kind, source: source.name }, 'starting');
  const interfaces =
    deps.interfaces ??
    new NodeInterfaces({ log: deps.log, ...(config.netns === undefined ? {} : { netns: config.netns }) });
  const metrics = new AgentMetrics({ datapath: datapath.kind, source: source.name });
  const hostAddresses = config.hostAddresses ?? nodeAddresses();
  let lastUplinks: string | undefined;
  const nodeContext = async (model: CompiledPolicy): Promise<NodeContext> => {
    const map = await interfaces.scan().catch((err: unknown) => {
      log.warn({ err }, 'interface scan failed; using the previous mapping');
      return interfaces.map;
    });
    const ifaces = interfaces.forEndpoints(model, map);
    metrics.setAttached(ifaces.size);
    const uplinks = config.uplinks ?? interfaces.uplinks;
    if (uplinks.join(' ') !== lastUplinks)
      log.info({ uplinks }, 'uplinks (egress to remote Service backends judged here)');
    lastUplinks = uplinks.join(' ');
    return { hostAddresses, interfaces: ifaces, serviceCidrs: config.serviceCidrs, uplinks };
  };
  const compiler = compilerFor(config, log);
  const idleGc = idleCollector(config, deps.log);
  const wouldDeny = new WouldDenyMetric(
    metrics.registry,
    () => datapath.wouldDeny(),
    deps.log.child({ component: 'would-deny' }),
  );
  const kernel =
    datapath.kind === 'ebpf'
      ? new KernelObservers({
          pinRoot: config.pinRoot,
          registry: metrics.registry,
          log: deps.log,
          logDenied: config.logDenied,
        })
      : undefined;
  const reconciler = new Reconciler({
    source,
    datapath,
    state: new ClusterState(),
    compile: deps.compile ?? ((snapshot, node) => compiler.compile(snapshot, node)),
    nodeName: config.nodeName,
    nodeContext,
    log: deps.log,
    observer: combineObservers(metrics, idleGc.observer(), wouldDeny, ...(kernel === undefined ? [] : [kernel])),
    debounceMs: config.debounceMs,
    syncPeriodMs: config.syncPeriodMs,
    cacheSyncTimeoutMs: config.cacheSyncTimeoutMs,
  });
  metrics.watchStatus(() => reconciler.status());
  metrics.watchChanges(() => reconciler.changeCounts());
  return { datapath, interfaces, metrics, reconciler, kernel, idleGc };
}

/** Runs until `deps.shutdown` resolves; returns the exit code. */
export async function runAgent(config: AgentConfig, source: Source, deps: AgentDeps): Promise<number> {
  const log = deps.log.child({ component: 'agent' });
  const { datapath, interfaces, metrics, reconciler, kernel, idleGc } = await assemble(config, source, deps);
  let servers: RunningServer[] = [];
  const stopAll = async (): Promise<void> => {
    interfaces.stop();
    await reconciler.stop();
    kernel?.stop();
    idleGc.stop();
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    servers = await startServers(config, reconciler, metrics, deps.log);
    interfaces.start(() => reconciler.trigger('interfaces changed'));
    await reconciler.start();
  } catch (err) {
    await stopAll();
    await datapath.close();
    throw err;
  }
  deps.onStarted?.({ servers, reconciler });
  const reason = await deps.shutdown;
  log.info({ reason, cleanup: config.cleanupOnExit }, 'stopping');
  await stopAll();
  if (config.cleanupOnExit) {
    await datapath.cleanup();
    log.info('datapath removed (--cleanup-on-exit)');
  } else {
    log.info('enforcement left in place');
  }
  await datapath.close();
  return 0;
}

async function startServers(
  config: AgentConfig,
  reconciler: Reconciler,
  metrics: AgentMetrics,
  log: Logger,
): Promise<RunningServer[]> {
  const times = { syncPeriodMs: config.syncPeriodMs, cacheSyncTimeoutMs: config.cacheSyncTimeoutMs };
  const health: Record<string, Route> = {
    '/healthz': verdictRoute(() => liveness(reconciler.status(), Date.now(), times)),
    '/readyz': verdictRoute(() => readiness(reconciler.status())),
  };
  const metricsRoutes: Record<string, Route> = { '/metrics': metricsRoute(metrics) };
  const plan: { host: string; port: number; routes: Record<string, Route> }[] = [];
  const shared = config.healthPort !== 0 && config.healthPort === config.metricsPort;
  if (shared) plan.push({ host: config.healthAddr, port: config.healthPort, routes: { ...health, ...metricsRoutes } });
  else {
    if (config.healthPort !== 0) plan.push({ host: config.healthAddr, port: config.healthPort, routes: health });
    if (config.metricsPort !== 0)
      plan.push({ host: config.metricsAddr, port: config.metricsPort, routes: metricsRoutes });
  }
  const servers: RunningServer[] = [];
  try {
    for (const p of plan) servers.push(await serveRoutes(p.host, p.port, p.routes, log.child({ component: 'http' })));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return servers;
}
