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
