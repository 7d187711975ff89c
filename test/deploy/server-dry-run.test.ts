/**
 * What test/e2e/deploy.test.ts does not cover, against a real kube-apiserver
 * (server-side dry runs, so admission and validation run but nothing is
 * stored): the kustomize build of deploy/, the iptables-only Component, the
 * uninstall Job for a node; and the reason for the privileged init
 * container: the API server refuses Bidirectional propagation in the agent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { controlPlaneSkip, startControlPlane, type ControlPlane } from '../cluster/control-plane.js';
import { deployDir, findKubectl, loadYaml, renderText, type Obj } from './load.js';

const skip = controlPlaneSkip();

describe('deploy/ variants against kube-apiserver (server-side dry run)', { skip }, () => {
  let cp: ControlPlane | undefined;
  const dryRun = async (args: readonly string[], stdin?: string): Promise<{ code: number; out: string }> => {
    assert.ok(cp !== undefined, 'the control plane did not start');
    const r = await cp.kubectlResult(['apply', '--dry-run=server', ...args], stdin);
    return { code: r.code, out: r.stdout + r.stderr };
  };
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  test('kubectl apply -k deploy/', async () => {
    const r = await dryRun(['-k', deployDir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /daemonset.apps\/sluice created \(server dry run\)/);
  });

  test(
    'deploy/ with the iptables-only Component',
    { skip: findKubectl() === undefined ? 'no kubectl' : false },
    async () => {
      const r = await dryRun(['-f', '-'], renderText(['overlays/iptables-only']));
      assert.equal(r.code, 0, r.out);
    },
  );

  test('the uninstall Job, for a node', async () => {
    const text = readFileSync(path.join(deployDir, 'uninstall/cleanup-job.yaml'), 'utf8');
    const r = await dryRun(['-f', '-'], text.replaceAll('placeholder-node', 'worker-1'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /job.batch\/sluice-cleanup-worker-1 created \(server dry run\)/);
  });

  test('refused: Bidirectional propagation in the unprivileged agent (why mount-bpffs exists)', async () => {
    const ds = loadYaml(path.join(deployDir, 'daemonset.yaml'))[0] as Obj;
    const spec = ds['spec'].template.spec as Obj;
    delete spec['initContainers'];
    const agent = (spec['containers'] as Obj[])[0] as Obj;
    for (const m of agent['volumeMounts'] as Obj[]) if (m['name'] === 'bpffs') m['mountPropagation'] = 'Bidirectional';
    const r = await dryRun(['-f', '-'], JSON.stringify(ds));
    assert.notEqual(r.code, 0);
    assert.match(r.out, /Bidirectional mount propagation is available only to privileged containers/);
  });
});
