/**
 * Logs every endpoint and policy change once, after it is enforced, with what
 * changed. The first sync logs a summary (per-object lines at debug), so a
 * node with thousands of objects does not flood the log at start.
 */
import type { ClusterSnapshot } from '../model/k8s.js';
import type { CompiledPolicy } from '../model/compiled.js';
import type { Logger } from '../util/log.js';
import { diffEndpoints, diffPolicies } from './model-diff.js';

export class ChangeLog {
  private snapshot: ClusterSnapshot | undefined;
  private model: CompiledPolicy | undefined;

  constructor(private readonly log: Logger) {}

  /** Records an enforced state and logs how it differs from the previous one. */
  enforced(snapshot: ClusterSnapshot, model: CompiledPolicy): void {
    const first = this.model === undefined;
    const endpoints = diffEndpoints(this.model, model);
    const policies = diffPolicies(this.snapshot, snapshot);
    this.snapshot = snapshot;
    this.model = model;
    if (first) {
      this.log.info(
        { endpoints: model.endpoints.length, policies: snapshot.policies.length, pods: snapshot.pods.length },
        'initial state enforced',
      );
    }
    const level = first ? 'debug' : 'info';
    for (const c of policies) this.log[level]({ policy: c.policy, change: c.change }, `policy ${c.change}`);
    for (const c of endpoints) {
      const e = c.endpoint;
      const facts = {
        pod: c.pod,
        change: c.change,
        ...(c.fields.length > 0 ? { fields: c.fields } : {}),
        ips: e.ips,
        ingress: e.ingress.isolated ? e.ingress.policies : 'not isolated',
        egress: e.egress.isolated ? e.egress.policies : 'not isolated',
      };
      this.log[level](facts, `endpoint ${c.change}`);
    }
    for (const w of model.warnings) this.log.warn({ object: w.object }, w.message);
  }
}
