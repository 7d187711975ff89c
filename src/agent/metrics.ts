/**
 * Prometheus metrics (prom-client), prefix `sluice_`, on a registry of their
 * own so tests and several agents in one process do not collide. Fed by the
 * reconciler's observer hooks; status gauges read the reconciler on scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SourceEvent } from '../source/types.js';
import type { ReconcilerObserver, ReconcilerStatus, SyncRecord } from './reconciler.js';

export interface AgentMetricsOptions {
  /** Datapath in use (`ebpf`, `iptables`), a label of `sluice_datapath_info`. */
  readonly datapath: string;
  /** Source in use (`kube`, `manifests`). */
  readonly source: string;
  /** Process metrics (`sluice_process_resident_memory_bytes`, …); default true. */
  readonly processMetrics?: boolean;
}

export class AgentMetrics implements ReconcilerObserver {
  readonly registry = new Registry();
  private readonly duration: Histogram<'result'>;
  private readonly syncErrors: Counter;
  private readonly invalid: Counter<'kind'>;
  private readonly sourceErrors: Counter<'kind'>;
  private readonly endpoints: Gauge;
  private readonly attached: Gauge;
  private readonly objects: Gauge<'kind'>;
  private readonly entries: Gauge<'map'>;
  private readonly lastSuccess: Gauge;

  constructor(options: AgentMetricsOptions) {
    const registers = [this.registry];
    this.duration = new Histogram({
      name: 'sluice_sync_duration_seconds',
      help: 'Duration of a sync (snapshot, compile, datapath apply), by result.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.syncErrors = new Counter({ name: 'sluice_sync_errors_total', help: 'Syncs that failed.', registers });
    this.invalid = new Counter({
      name: 'sluice_invalid_objects_total',
      help: 'Objects skipped because they could not be normalised (kind label), each report counted once.',
      labelNames: ['kind'],
      registers,
    });
    this.sourceErrors = new Counter({
      name: 'sluice_source_errors_total',
      help: 'List/watch or directory read failures of the source (the last good state stays).',
      labelNames: ['kind'],
      registers,
    });
    this.endpoints = new Gauge({ name: 'sluice_endpoints', help: 'Local endpoints in the enforced model.', registers });
    this.attached = new Gauge({
      name: 'sluice_endpoints_attached',
      help: 'Local endpoints whose host-side interface is known.',
      registers,
    });
    this.objects = new Gauge({
      name: 'sluice_objects',
      help: 'Objects in the cluster state at the last sync, by kind (pods, policies, namespaces).',
      labelNames: ['kind'],
      registers,
    });
    this.entries = new Gauge({
      name: 'sluice_datapath_entries',
      help: 'Entries per map or set after the last successful apply.',
      labelNames: ['map'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'sluice_last_sync_success_timestamp_seconds',
      help: 'Unix time of the last successful sync.',
      registers,
    });
    this.staticGauges(options);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  event(e: SourceEvent): void {
    if (e.type === 'invalid') this.invalid.inc({ kind: e.kind ?? 'unknown' });
    if (e.type === 'error') this.sourceErrors.inc({ kind: e.kind ?? 'all' });
  }

  sync(r: SyncRecord): void {
    this.duration.observe({ result: r.ok ? 'success' : 'error' }, r.durationMs / 1000);
    this.objects.set({ kind: 'pods' }, r.counts.pods);
    this.objects.set({ kind: 'policies' }, r.counts.policies);
    this.objects.set({ kind: 'clusternetworkpolicies' }, r.counts.clusterPolicies ?? 0);
    this.objects.set({ kind: 'namespaces' }, r.counts.namespaces);
    if (!r.ok) {
      this.syncErrors.inc();
      return;
    }
    this.lastSuccess.set(Date.now() / 1000);
    if (r.model !== undefined) this.endpoints.set(r.model.endpoints.length);
    if (r.stats !== undefined) {
      this.entries.reset();
      for (const [map, size] of Object.entries(r.stats.sizes)) this.entries.set({ map }, size);
    }
  }

  /** Endpoints with a known interface, set by the agent when it builds the node context. */
  setAttached(n: number): void {
    this.attached.set(n);
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private staticGauges(options: AgentMetricsOptions): void {
    const registers = [this.registry];
    const info = new Gauge({
      name: 'sluice_datapath_info',
      help: 'The datapath in use (label datapath) and the source (label source); always 1.',
      labelNames: ['datapath', 'source'],
      registers,
    });
    info.set({ datapath: options.datapath, source: options.source }, 1);
  }

  /** Registers the gauges read from the reconciler's status on each scrape. */
  watchStatus(status: () => ReconcilerStatus): void {
    const registers = [this.registry];
    new Gauge({
      name: 'sluice_ready',
      help: '1 when the source is synced and the datapath programmed.',
      registers,
      collect() {
        const s = status();
        this.set(s.cachesSynced && s.programmed ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sluice_sync_consecutive_failures',
      help: 'Failed syncs since the last success.',
      registers,
      collect() {
        this.set(status().consecutiveFailures);
      },
    });
  }

  /** Registers the state-change counters read from the reconciler on each scrape. */
  watchChanges(changes: () => { readonly received: number; readonly enforced: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'sluice_state_changes_received',
      help: 'Changes to the cluster state received from the source since start.',
      registers,
      collect() {
        this.set(changes().received);
      },
    });
    new Gauge({
      name: 'sluice_state_changes_enforced',
      help: 'Of sluice_state_changes_received, how many the last successful apply included.',
      registers,
      collect() {
        this.set(changes().enforced);
      },
    });
  }
}
