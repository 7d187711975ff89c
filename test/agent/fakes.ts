/** Fakes for agent tests: a Source driven by the test, a Datapath that records applies. */
import type { ApplyStats, Datapath, NodeContext, WouldDenyCount } from '../../src/datapath/types.js';
import type { CompiledPolicy } from '../../src/model/compiled.js';
import type { Pod } from '../../src/model/k8s.js';
import type { NormalizedObject, Source, SourceEvent, SourceListener } from '../../src/source/types.js';

export class FakeSource implements Source {
  readonly name = 'fake';
  synced = false;
  started = false;
  stopped = false;
  private listener: SourceListener | undefined;

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  emit(event: SourceEvent): void {
    if (event.type === 'synced') this.synced = true;
    this.listener?.(event);
  }
  addPod(p: Pod): void {
    this.emit({ type: 'add', object: podObject(p) });
  }
}

export const podObject = (p: Pod): NormalizedObject => ({ kind: 'Pod', id: `${p.namespace}/${p.name}`, value: p });

export interface RecordedApply {
  readonly model: CompiledPolicy;
  readonly node: NodeContext;
  readonly at: number;
}

export class FakeDatapath implements Datapath {
  readonly kind = 'ebpf';
  readonly applies: RecordedApply[] = [];
  /** Applies that will throw, in order (`true` = fail). */
  failures: boolean[] = [];
  /** In force: the model of the last successful apply. */
  programmed: CompiledPolicy | undefined;
  cleaned = false;
  closed = false;
  delayMs = 0;

  async apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
    this.applies.push({ model, node, at: Date.now() });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failures.shift() === true) throw new Error('injected apply failure');
    this.programmed = model;
    return { written: 1, removed: 0, sizes: { endpoints: model.endpoints.length, peers: model.peerPrefixes.length } };
  }
  async cleanup(): Promise<void> {
    this.cleaned = true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** What wouldDeny returns: set by a test. */
  wouldDenyRows: WouldDenyCount[] = [];
  async wouldDeny(): Promise<readonly WouldDenyCount[]> {
    return this.wouldDenyRows;
  }
}

export const emptyNode: NodeContext = { hostAddresses: [], interfaces: new Map(), serviceCidrs: [] };

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
