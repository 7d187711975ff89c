/**
 * deploy/ as the cluster will read it: the DaemonSet's privileges, mounts,
 * probes and scheduling; the ConfigMap against the agent's real flag table;
 * RBAC against the kinds the kube source really watches; the uninstall Job
 * against `sluice cleanup`'s flags. The kustomize variants are rendered with
 * kubectl when it is available. Server-side validation of the same files is
 * test/e2e/deploy.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { agentCommand, readAgentConfig } from '../../src/agent/flags.js';
import { cleanupCommand } from '../../src/cli/commands/cleanup.js';
import { parseFlags } from '../../src/cli/flags.js';
import { KIND_SPECS } from '../../src/source/kube.js';
import { deployDir, findKubectl, loadText, loadYaml, one, render, type Obj } from './load.js';

const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f));
const objects = files.flatMap((f) => loadYaml(path.join(deployDir, f)));
const ds = one(objects, 'DaemonSet', 'sluice');
const pod = ds['spec'].template.spec as Obj;
const byName = (list: Obj[] | undefined, name: string): Obj => {
  const found = (list ?? []).find((x) => x['name'] === name);
  assert.ok(found, `no item named ${name}`);
  return found;
};
const agent = byName(pod['containers'], 'agent');
const config = one(objects, 'ConfigMap', 'sluice-config')['data'] as Record<string, string>;
const job = loadYaml(path.join(deployDir, 'uninstall/cleanup-job.yaml'))[0] as Obj;
const version = (JSON.parse(loadText('package.json')) as { version: string }).version;

const AGENT_CAPS = ['BPF', 'PERFMON', 'NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'];

test('deploy/*.yaml: the objects the install consists of, all in kube-system', () => {
  const kinds = objects.map((o) => `${o['kind']}/${o['metadata']?.name}`).sort();
  assert.deepEqual(kinds, [
    'ClusterRole/sluice',
    'ClusterRoleBinding/sluice',
    'ConfigMap/sluice-config',
    'DaemonSet/sluice',
    'ServiceAccount/sluice',
  ]);
  for (const o of objects.filter((o) => !o['kind'].startsWith('Cluster'))) {
    assert.equal(o['metadata'].namespace, 'kube-system', o['kind']);
  }
});

const daemonSetCases: { name: string; got: () => unknown; want: unknown }[] = [
  { name: 'service account', got: () => pod['serviceAccountName'], want: 'sluice' },
  { name: 'host network', got: () => pod['hostNetwork'], want: true },
  { name: 'cluster DNS from the host network', got: () => pod['dnsPolicy'], want: 'ClusterFirstWithHostNet' },
  { name: 'priority', got: () => pod['priorityClassName'], want: 'system-node-critical' },
  { name: 'tolerates every taint', got: () => pod['tolerations'], want: [{ operator: 'Exists' }] },
  {
    name: 'rolling update, one node at a time',
    got: () => ds['spec'].updateStrategy,
    want: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
  },
  { name: 'termination grace', got: () => pod['terminationGracePeriodSeconds'], want: 30 },
  { name: 'agent command', got: () => agent['args'], want: ['agent'] },
  { name: 'image', got: () => agent['image'], want: `sluice:${version}` },
  {
    name: 'NODE_NAME from the downward API',
    got: () => byName(agent['env'], 'NODE_NAME')['valueFrom'],
    want: { fieldRef: { fieldPath: 'spec.nodeName' } },
  },
  {
    name: 'flags from the ConfigMap',
    got: () => agent['envFrom'],
    want: [{ configMapRef: { name: 'sluice-config' } }],
  },
  { name: 'agent not privileged', got: () => agent['securityContext'].privileged, want: false },
  // The API server refuses allowPrivilegeEscalation: false together with SYS_ADMIN.
  {
    name: 'escalation, as SYS_ADMIN requires',
    got: () => agent['securityContext'].allowPrivilegeEscalation,
    want: true,
  },
  { name: 'read-only root filesystem', got: () => agent['securityContext'].readOnlyRootFilesystem, want: true },
  {
    name: 'exactly the capabilities the datapaths use',
    got: () => agent['securityContext'].capabilities,
    want: { drop: ['ALL'], add: AGENT_CAPS },
  },
  {
    name: 'bpffs from the host, mounts propagated from it',
    got: () => [byName(agent['volumeMounts'], 'bpffs'), byName(pod['volumes'], 'bpffs')['hostPath']],
    want: [
      { name: 'bpffs', mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' },
      { path: '/sys/fs/bpf', type: 'Directory' },
    ],
  },
  {
    name: '/lib/modules read-only',
    got: () => [byName(agent['volumeMounts'], 'lib-modules'), byName(pod['volumes'], 'lib-modules')['hostPath']],
    want: [
      { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
      { path: '/lib/modules', type: 'Directory' },
    ],
  },
  {
    name: 'the node-wide xtables lock',
    got: () => [byName(agent['volumeMounts'], 'xtables-lock'), byName(pod['volumes'], 'xtables-lock')['hostPath']],
    want: [
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
      { path: '/run/xtables.lock', type: 'FileOrCreate' },
    ],
  },
];

for (const c of daemonSetCases) {
  test(`DaemonSet: ${c.name}`, () => assert.deepEqual(c.got(), c.want));
}

test('DaemonSet: only the short-lived bpffs init container is privileged, and only it propagates mounts to the host', () => {
  const init = byName(pod['initContainers'], 'mount-bpffs');
  assert.equal(init['securityContext'].privileged, true);
  // The API server refuses Bidirectional propagation in a container that is not privileged.
  assert.deepEqual(byName(init['volumeMounts'], 'bpffs')['mountPropagation'], 'Bidirectional');
  assert.match(init['command'].join(' '), /mountpoint -q \/sys\/fs\/bpf \|\| mount -t bpf bpf \/sys\/fs\/bpf/);
  const all = [...pod['initContainers'], ...pod['containers']] as Obj[];
  const privileged = all.filter((c) => c['securityContext']?.privileged === true).map((c) => c['name']);
  assert.deepEqual(privileged, ['mount-bpffs']);
  const bidirectional = all.filter((c) =>
    (c['volumeMounts'] as Obj[]).some((m) => m['mountPropagation'] === 'Bidirectional'),
  );
  assert.deepEqual(
    bidirectional.map((c) => c['name']),
    ['mount-bpffs'],
  );
});

test("DaemonSet: probes hit the agent's health server where the ConfigMap puts it", () => {
  const health = readAgentConfig(parseFlags(agentCommand, [], config).values);
  for (const [probe, route] of [
    ['livenessProbe', '/healthz'],
    ['readinessProbe', '/readyz'],
  ] as const) {
    const get = agent[probe].httpGet as Obj;
    assert.deepEqual([get['host'], get['port'], get['path']], [health.healthAddr, health.healthPort, route], probe);
  }
  // The routes as the agent serves them (src/agent/lifecycle.ts startServers).
  assert.match(loadText('src/agent/lifecycle.ts'), /'\/healthz': verdictRoute\(.*\n?.*'\/readyz': verdictRoute/s);
  assert.deepEqual(agent['ports'], [{ name: 'metrics', containerPort: health.metricsPort, protocol: 'TCP' }]);
});

test('DaemonSet: resources requested and limited, requests under limits', () => {
  const mib = (q: string): number => Number(/^(\d+)Mi$/.exec(q)?.[1] ?? NaN);
  const cpu = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
  for (const c of [...pod['initContainers'], ...pod['containers']] as Obj[]) {
    const { requests, limits } = c['resources'] as { requests: Obj; limits: Obj };
    assert.ok(mib(requests['memory']) <= mib(limits['memory']), `${c['name']} memory`);
    assert.ok(cpu(requests['cpu']) <= cpu(limits['cpu']), `${c['name']} cpu`);
  }
  // The agent's limit keeps 2x headroom over the measured 238 MiB peak at 10,000 pods.
  assert.ok(mib(agent['resources'].limits.memory) >= 2 * 238);
});

test('ConfigMap: every key is the environment variable of an agent flag, the values parse, --datapath is auto', () => {
  const envs = new Set(agentCommand.flags.map((f) => f.env));
  for (const key of Object.keys(config)) assert.ok(envs.has(key), `${key} is no agent flag's variable`);
  const parsed = readAgentConfig(parseFlags(agentCommand, [], config).values);
  assert.equal(parsed.datapath, 'auto');
  assert.match(loadText('deploy/configmap.yaml'), /# --datapath auto \| ebpf \| iptables/);
  // The node name is the downward API's, not the ConfigMap's.
  assert.equal(agentCommand.flags.find((f) => f.name === 'node-name')?.env, 'NODE_NAME');
  assert.ok(!('NODE_NAME' in config));
});

test('RBAC: list and watch on exactly the kinds the kube source watches; bound to the agent', () => {
  const role = one(objects, 'ClusterRole', 'sluice');
  const granted = (role['rules'] as Obj[]).flatMap((r) =>
    (r['resources'] as string[]).map((res) => [`${r['apiGroups'][0]}/${res}`, (r['verbs'] as string[]).join(',')]),
  );
  const groupResource = (v: { apiVersion: string; path: string }): string => {
    const group = v.apiVersion.includes('/') ? (v.apiVersion.split('/')[0] ?? '') : '';
    return `${group}/${v.path.split('/').at(-1) ?? ''}`;
  };
  // A CRD kind's fallback versions are the same group and resource: one grant covers them.
  for (const k of KIND_SPECS) {
    for (const f of k.crd?.fallbacks ?? []) assert.equal(groupResource(f), groupResource(k), `${k.kind} fallback`);
  }
  const watched = KIND_SPECS.map((k) => [groupResource(k), 'list,watch']);
  assert.deepEqual(granted.sort(), watched.sort());
  assert.ok(
    granted.some(([res]) => res === 'policy.networking.k8s.io/clusternetworkpolicies'),
    'ClusterNetworkPolicy is watched and granted',
  );
  const binding = one(objects, 'ClusterRoleBinding', 'sluice');
  assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sluice' });
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'sluice', namespace: 'kube-system' }]);
});

test('uninstall Job: `sluice cleanup --datapath all` on one node, host network, no API token, not privileged', () => {
  const spec = job['spec'].template.spec as Obj;
  const c = byName(spec['containers'], 'cleanup');
  const [command, ...args] = c['args'] as string[];
  assert.equal(command, cleanupCommand.name);
  assert.equal(parseFlags(cleanupCommand, args, {}).values['datapath'], 'all');
  assert.equal(spec['nodeName'], 'placeholder-node');
  assert.equal(job['metadata'].name, 'sluice-cleanup-placeholder-node');
  assert.deepEqual([spec['hostNetwork'], spec['automountServiceAccountToken']], [true, false]);
  assert.deepEqual(spec['tolerations'], [{ operator: 'Exists' }]);
  assert.deepEqual(c['securityContext'].capabilities, { drop: ['ALL'], add: AGENT_CAPS });
  assert.equal(c['securityContext'].privileged, false);
  assert.equal(byName(c['volumeMounts'], 'bpffs')['mountPath'], '/sys/fs/bpf');
});

const kustomizeSkip =
  findKubectl() === undefined ? 'no kubectl on PATH and none built by test/cluster/build.sh' : false;

test('kustomize: deploy/ renders the same objects as its files, labelled', { skip: kustomizeSkip }, () => {
  const rendered = render([]);
  assert.deepEqual(rendered.map((o) => o['kind']).sort(), objects.map((o) => o['kind']).sort());
  assert.equal(one(rendered, 'DaemonSet')['metadata'].labels['app.kubernetes.io/version'], version);
});

test(
  'kustomize: overlays/iptables-only drops eBPF: no privileged container, no bpffs, no BPF or SYS_ADMIN',
  {
    skip: kustomizeSkip,
  },
  () => {
    const rendered = render(['overlays/iptables-only']);
    assert.equal(one(rendered, 'ConfigMap')['data'].SLUICE_DATAPATH, 'iptables');
    const spec = one(rendered, 'DaemonSet')['spec'].template.spec as Obj;
    assert.equal(spec['initContainers'], undefined);
    assert.deepEqual(
      (spec['volumes'] as Obj[]).map((v) => v['name']),
      ['lib-modules', 'xtables-lock', 'tmp'],
    );
    const c = byName(spec['containers'], 'agent');
    assert.deepEqual(
      (c['volumeMounts'] as Obj[]).map((m) => m['mountPath']),
      ['/lib/modules', '/run/xtables.lock', '/tmp'],
    );
    assert.deepEqual(c['securityContext'].capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    assert.equal(c['securityContext'].allowPrivilegeEscalation, false);
    assert.ok(!JSON.stringify(rendered).includes('"privileged":true'));
  },
);
