/**
 * deploy/ against a real kube-apiserver (no root needed: the control plane
 * listens on the host's loopback): the manifests pass server-side dry-run,
 * and the agent's ServiceAccount can list and watch exactly what the agent
 * reads (Namespaces, Pods, NetworkPolicies, ClusterNetworkPolicies) and
 * nothing else: no Secrets, no writes, no `get`, nothing on the CRDs
 * themselves. The ClusterNetworkPolicy CRD (test/cluster/crd.ts) is
 * installed when it has been fetched, so that the rows about it are judged
 * against a served resource and its token really lists and watches it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { controlPlaneSkip, startControlPlane, type ControlPlane } from '../cluster/control-plane.js';
import { CNP_COLLECTIONS, crdSkip } from '../cluster/crd.js';
import { agentRbac } from './e2e-cluster.js';

const skip = controlPlaneSkip();
/** Without the fetched CRD, the can-i rows still hold (RBAC does not look at discovery); the token test skips. */
const noCrd = crdSkip();
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
  ['list', 'clusternetworkpolicies.policy.networking.k8s.io', true],
  ['watch', 'clusternetworkpolicies.policy.networking.k8s.io', true],
  ['get', 'clusternetworkpolicies.policy.networking.k8s.io', false],
  ['create', 'clusternetworkpolicies.policy.networking.k8s.io', false],
  ['update', 'clusternetworkpolicies.policy.networking.k8s.io', false],
  ['patch', 'clusternetworkpolicies.policy.networking.k8s.io', false],
  ['delete', 'clusternetworkpolicies.policy.networking.k8s.io', false],
  ['update', 'clusternetworkpolicies.policy.networking.k8s.io/status', false],
  ['get', 'customresourcedefinitions.apiextensions.k8s.io', false],
  ['list', 'customresourcedefinitions.apiextensions.k8s.io', false],
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
    cp = await startControlPlane(noCrd === false ? { clusterNetworkPolicyCrd: true } : {});
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

  test('can-i --list: list and watch on the four kinds the agent watches; nothing else of its own', async () => {
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
      'clusternetworkpolicies.policy.networking.k8s.io': 'list,watch',
    });
  });

  test('its token lists and watches ClusterNetworkPolicies (both versions), no more', { skip: noCrd }, async () => {
    assert.ok(cp !== undefined);
    const plane = cp;
    const token = (await kubectl(['create', 'token', rbac.serviceAccount, '-n', rbac.namespace])).trim();
    // A later --kubeconfig replaces the admin one that kubectlResult passes first.
    const sa = ['--kubeconfig', await plane.tokenKubeconfig('sluice-sa', token)];
    const asAgent = (args: readonly string[], stdin?: string) => plane.kubectlResult([...sa, ...args], stdin);
    assert.equal((await asAgent(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout, as);
    for (const collection of CNP_COLLECTIONS) {
      for (const url of [collection, `${collection}?watch=1&timeoutSeconds=1`]) {
        const r = await asAgent(['get', '--raw', url]);
        assert.equal(r.code, 0, `GET ${url}: ${r.stderr}`);
      }
      const one = await asAgent(['get', '--raw', `${collection}/some-name`]);
      assert.match(one.stderr, /forbidden/i, `GET ${collection}/some-name: forbidden (no get), not NotFound`);
    }
    const doc = {
      apiVersion: 'policy.networking.k8s.io/v1beta1',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'sa-may-not-create' },
      spec: { tier: 'Admin', priority: 1, subject: { namespaces: {} }, ingress: [] },
    };
    const created = await asAgent(['create', '-f', '-'], JSON.stringify(doc));
    assert.notEqual(created.code, 0, 'the agent must not create a ClusterNetworkPolicy');
    assert.match(created.stderr, /forbidden/i);
  });
});
