/**
 * deploy/ against a real kube-apiserver (no root needed: the control plane
 * listens on the host's loopback): the manifests pass server-side dry-run,
 * and the agent's ServiceAccount can list and watch exactly what the agent
 * reads (Namespaces, Pods, NetworkPolicies) and nothing else: no Secrets, no
 * writes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { controlPlaneSkip, startControlPlane, type ControlPlane } from '../cluster/control-plane.js';
import { agentRbac } from './e2e-cluster.js';

const skip = controlPlaneSkip();
const rbac = agentRbac();
const as = `system:serviceaccount:${rbac.namespace}:${rbac.serviceAccount}`;

/** [verb, resource, allowed] */
const CAN_I: readonly (readonly [string, string, boolean])[] = [
  ['list', 'pods', true],
  ['watch', 'pods', true],
  ['list', 'namespaces', true],
  ['watch', 'namespaces', true],
  ['list', 'networkpolicies.networking.k8s.io', true],
  ['watch', 'networkpolicies.networking.k8s.io', true],
  ['get', 'secrets', false],
  ['list', 'secrets', false],
  ['watch', 'secrets', false],
  ['list', 'configmaps', false],
  ['create', 'pods', false],
  ['update', 'pods', false],
  ['patch', 'pods', false],
  ['delete', 'pods', false],
  ['update', 'pods/status', false],
  ['create', 'pods/exec', false],
  ['create', 'networkpolicies.networking.k8s.io', false],
  ['update', 'networkpolicies.networking.k8s.io', false],
  ['delete', 'networkpolicies.networking.k8s.io', false],
  ['update', 'namespaces', false],
  ['create', 'serviceaccounts/token', false],
  ['list', 'nodes', false],
  ['update', 'clusterroles.rbac.authorization.k8s.io', false],
  ['create', 'clusterrolebindings.rbac.authorization.k8s.io', false],
  ['*', '*', false],
];

/**
 * What every authenticated identity gets from the default ClusterRoles
 * (system:basic-user, system:discovery, system:public-info-viewer), not from
 * sluice's ClusterRole: self reviews, needed by `kubectl auth can-i` itself.
 */
const DEFAULT_GRANTS = new Set([
  'selfsubjectreviews.authentication.k8s.io',
  'selfsubjectaccessreviews.authorization.k8s.io',
  'selfsubjectrulesreviews.authorization.k8s.io',
]);

describe(`deploy/ against kube-apiserver: ServiceAccount ${rbac.namespace}/${rbac.serviceAccount}`, { skip }, () => {
  let cp: ControlPlane | undefined;
  const kubectl = (args: readonly string[], stdin?: string): Promise<string> => {
    assert.ok(cp !== undefined, 'the control plane did not start');
    return cp.kubectl(args, stdin);
  };
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  test('kubectl apply --dry-run=server -f deploy/ accepts every manifest', async () => {
    // A dry run creates nothing, so objects inside a Namespace of the same
    // files would fail with "namespace not found": create the Namespaces first.
    const namespaces = rbac.files
      .flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as { kind?: string } | null))
      .filter((d) => d?.kind === 'Namespace');
    for (const ns of namespaces) await kubectl(['apply', '-f', '-'], JSON.stringify(ns));
    const out = await kubectl(['apply', '--dry-run=server', ...rbac.fileArgs]);
    assert.match(out, /ClusterRole/i);
    assert.match(out, /\(server dry run\)/);
  });

  test('the RBAC objects apply for real', async () => {
    await kubectl(['apply', ...rbac.fileArgs]);
  });

  for (const [verb, resource, allowed] of CAN_I) {
    test(`can-i ${verb} ${resource} --all-namespaces: ${allowed ? 'yes' : 'no'}`, async () => {
      assert.ok(cp !== undefined);
      const r = await cp.kubectlResult(['auth', 'can-i', verb, resource, '--all-namespaces', `--as=${as}`]);
      assert.equal(r.stdout.trim(), allowed ? 'yes' : 'no', r.stderr);
    });
  }

  test('can-i --list: list and watch on namespaces, pods, networkpolicies; nothing else of its own', async () => {
    // Text, not -o json, which older kubectl lacks. Rows: Resources, Non-Resource URLs, Resource Names, Verbs.
    const out = await kubectl(['auth', 'can-i', '--list', `--as=${as}`, '-n', 'default']);
    const grants = out
      .split('\n')
      .map((line) => /^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$/.exec(line))
      .filter((m) => m !== null && m[1] !== 'Resources')
      .map((m) => [m?.[1] ?? '', (m?.[4] ?? '').split(' ').sort().join(',')] as const);
    const own = grants.filter(([res]) => !DEFAULT_GRANTS.has(res ?? ''));
    assert.deepEqual(Object.fromEntries(own), {
      namespaces: 'list,watch',
      pods: 'list,watch',
      'networkpolicies.networking.k8s.io': 'list,watch',
    });
  });
});
