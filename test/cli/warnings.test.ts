import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-warn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a seed-era extensions/v1beta1 policy is enforced, with a warning on stderr only', async () => {
  const file = join(dir, 'v1beta1.yaml');
  writeFileSync(
    file,
    `apiVersion: extensions/v1beta1
kind: NetworkPolicy
metadata: {name: npa, namespace: nsa}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
  );
  const r = await runCli([
    'simulate',
    '-f',
    'examples/tke/cluster.yaml',
    '-f',
    file,
    '--port',
    '6379',
    '--output',
    'json',
  ]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^warning: .*v1beta1\.yaml: nsa\/npa: .*extensions\/v1beta1/m);
  const got = JSON.parse(r.stdout) as { pods: string[]; allowed: boolean[][] };
  const redis = got.pods.indexOf('nsa/redis');
  assert.equal(got.allowed[got.pods.indexOf('nsb/client')]?.[redis], false);
});

test('ClusterNetworkPolicies of one tier and priority, and a peer sluice does not enforce, are warned about', async () => {
  const file = join(dir, 'cnp.yaml');
  const cnp = (name: string, to: string): string => `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: ${name}}
spec:
  tier: Admin
  priority: 7
  subject: {namespaces: {}}
  egress:
    - action: Deny
      to: [${to}]
`;
  writeFileSync(file, [cnp('first', '{networks: [10.9.0.0/16]}'), cnp('second', '{nodes: {}}')].join('---\n'));
  const r = await runCli(['simulate', '-f', 'examples/tke/cluster.yaml', '-f', file, '--port', '80']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: ClusterNetworkPolicy\/first: shares priority 7 in tier Admin with second/m);
  assert.match(
    r.stderr,
    /^warning: ClusterNetworkPolicy\/second: spec\.egress\[0\]\.to\[0\]\.nodes is not enforced by sluice; the Deny rule fails closed and is a Deny of all traffic$/m,
  );
  // Failing closed: every pod's egress is denied, so a pod reaches only itself.
  const pairs = /(\d+) of (\d+) pairs allowed/.exec(r.stdout);
  assert.ok(pairs !== null, r.stdout);
  assert.equal(Number(pairs[1]) ** 2, Number(pairs[2]), r.stdout);
});
