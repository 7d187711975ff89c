/**
 * Manifests for the audit-mode CLI tests, beside examples/tke/cluster.yaml:
 * the policy of examples/tke/3-nsa-from-nsb-6379.yaml with the annotation
 * `sluice.io/enforcement: audit`, and an enforced default-deny egress for
 * namespace default, to show a real deny winning over the audit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLUSTER = 'examples/tke/cluster.yaml';
/** The enforced original of the audited policy. */
export const ENFORCED_NPA = 'examples/tke/3-nsa-from-nsb-6379.yaml';

const AUDITED_NPA = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: npa
  namespace: nsa
  annotations:
    sluice.io/enforcement: audit
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {app: nsb}}
      ports:
        - {protocol: TCP, port: 6379}
`;

const DEFAULT_NO_EGRESS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
`;

export interface AuditManifests {
  /** Path of the audited nsa/npa. */
  readonly auditedNpa: string;
  /** Path of the enforced default/no-egress. */
  readonly noEgress: string;
  readonly remove: () => void;
}

/** Writes the manifests into a fresh temporary directory; `remove` deletes it. */
export function writeAuditManifests(): AuditManifests {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-audit-'));
  const auditedNpa = join(dir, 'audited-npa.yaml');
  const noEgress = join(dir, 'default-no-egress.yaml');
  writeFileSync(auditedNpa, AUDITED_NPA);
  writeFileSync(noEgress, DEFAULT_NO_EGRESS);
  return { auditedNpa, noEgress, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
