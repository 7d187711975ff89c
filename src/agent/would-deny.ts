/**
 * `sluice_policy_would_deny_total{namespace,policy}`: verdicts an audited
 * policy would have denied (the datapath let them pass). The datapath counts
 * per endpoint and direction in the kernel (Datapath.wouldDeny, exact, not
 * rate-limited); each count is credited to every audited policy that
 * isolates that direction (DirectionState.policies), since each of them
 * alone would deny the flow once enforced.
 *
 * Kernel counts restart (an endpoint reprogrammed, an iptables set
 * generation replaced); the counter must not go down, so on every scrape
 * only the growth since the previous reading is added, and a reading below
 * the previous one counts as a restart from zero.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../util/log.js';
import type { WouldDenyCount } from '../datapath/types.js';
import { auditedSides, type CompiledPolicy, type Direction } from '../model/compiled.js';
import type { ReconcilerObserver, SyncRecord } from './reconciler.js';

/** Last readings per `pod direction`. */
export type Readings = ReadonlyMap<string, number>;

const slot = (pod: string, direction: Direction): string => `${pod} ${direction}`;

/** The audited policies of each audited endpoint direction of `model`. */
export function auditedPolicies(model: CompiledPolicy): Map<string, readonly string[]> {
  return new Map(auditedSides(model).map((a) => [slot(a.endpoint.pod, a.direction), a.policies]));
}

/**
 * Pure: the increments per policy (`namespace/name`) between two readings,
 * and the readings to keep. Rows of directions not audited in the model are
 * kept but credited to no policy.
 */
export function wouldDenyIncrements(
  previous: Readings,
  rows: readonly WouldDenyCount[],
  policies: ReadonlyMap<string, readonly string[]>,
): { increments: Map<string, number>; readings: Map<string, number> } {
  const increments = new Map<string, number>();
  const readings = new Map<string, number>();
  for (const r of rows) {
    const key = slot(r.pod, r.direction);
    readings.set(key, r.packets);
    const before = previous.get(key) ?? 0;
    const grown = r.packets >= before ? r.packets - before : r.packets;
    if (grown === 0) continue;
    for (const p of policies.get(key) ?? []) increments.set(p, (increments.get(p) ?? 0) + grown);
  }
  return { increments, readings };
}

export class WouldDenyMetric implements ReconcilerObserver {
  private policies = new Map<string, readonly string[]>();
  private readings: Readings = new Map();

  constructor(registry: Registry, read: () => Promise<readonly WouldDenyCount[]>, log: Logger) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- collect() runs with the metric as `this`
    const self = this;
    new Counter({
      name: 'sluice_policy_would_deny_total',
      help: 'Flows an audited policy (sluice.io/enforcement: audit, or --enforcement audit) let pass that it would deny once enforced, per policy.',
      labelNames: ['namespace', 'policy'],
      registers: [registry],
      async collect() {
        const rows = await read().catch((err: unknown) => {
          log.warn({ err }, 'would-deny counters unreadable; scrape without new counts');
          return undefined;
        });
        if (rows === undefined) return;
        const { increments, readings } = wouldDenyIncrements(self.readings, rows, self.policies);
        self.readings = readings;
        for (const [policy, n] of increments) {
          const [namespace = '', name = ''] = policy.split('/');
          this.inc({ namespace, policy: name }, n);
        }
        for (const ids of self.policies.values()) {
          for (const policy of ids) {
            const [namespace = '', name = ''] = policy.split('/');
            this.inc({ namespace, policy: name }, 0);
          }
        }
      },
    });
  }

  sync(record: SyncRecord): void {
    if (record.ok && record.model !== undefined) this.policies = auditedPolicies(record.model);
  }
}
