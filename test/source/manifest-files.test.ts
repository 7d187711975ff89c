/**
 * loadManifestPaths over real files: directory expansion, multi-document
 * YAML, lists, duplicates, synthesised namespaces, and read/syntax errors.
 * Each row writes its files into a fresh directory under one temp root.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadManifestPaths, ManifestUnreadableError, type LoadedManifests } from '../../src/source/manifest-files.js';
import { ManifestError } from '../../src/util/errors.js';

const ns = (name: string, labels = '{}'): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${labels}}\n`;
const pod = (id: string, ip = '10.0.0.1'): string => {
  const [namespace, name] = id.split('/');
  return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${namespace}}\nstatus: {podIP: ${ip}}\n`;
};
const policy = (id: string, apiVersion = 'networking.k8s.io/v1'): string => {
  const [namespace, name] = id.split('/');
  return `apiVersion: ${apiVersion}\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: {podSelector: {}}\n`;
};
const cnp = (name: string, tier = 'Admin', namespace?: string): string =>
  [
    'apiVersion: policy.networking.k8s.io/v1beta1',
    'kind: ClusterNetworkPolicy',
    `metadata: {name: ${name}${namespace === undefined ? '' : `, namespace: ${namespace}`}}`,
    `spec: {tier: ${tier}, priority: 10, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]}`,
    '',
  ].join('\n');
const docs = (...parts: string[]): string => parts.join('---\n');

/** What a row checks on a successful load, in readable form. */
const summary = (l: LoadedManifests, dir: string) => ({
  files: l.files.map((f) => path.relative(dir, f)),
  namespaces: l.snapshot.namespaces.map((n) => `${n.name} ${JSON.stringify(n.labels)}`),
  pods: l.snapshot.pods.map((p) => `${p.namespace}/${p.name} ${p.ips.join(',')}`),
  policies: l.snapshot.policies.map((p) => `${p.namespace}/${p.name}`),
  clusterPolicies: l.snapshot.clusterPolicies?.map((p) => `${p.name} ${p.tier}`),
  warnings: l.warnings.map((w) => `${path.relative(dir, w.file)}: ${w.object ?? '-'}: ${w.message}`),
});
type Summary = ReturnType<typeof summary>;

interface Case {
  readonly name: string;
  /** Relative path → content; a trailing '/' makes an empty directory. */
  readonly files: Readonly<Record<string, string>>;
  /** Paths to load, relative to the row's directory ('.' is the directory). */
  readonly paths: readonly string[];
  readonly want?: Partial<Summary>;
  readonly wantError?: RegExp;
  readonly wantCode?: string;
}

const cases: Case[] = [
  {
    name: 'directory: *.yaml, *.yml, *.json sorted by name; others, dot-files and subdirectories skipped',
    files: {
      'b.yml': pod('x/b'),
      'a.yaml': pod('x/a'),
      'c.json': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'x' } }),
      'notes.txt': 'not: a manifest',
      '.a.yaml.swp.yaml': 'garbage: [',
      'sub/d.yaml': pod('x/d'),
    },
    paths: ['.'],
    want: { files: ['a.yaml', 'b.yml', 'c.json'], pods: ['x/a 10.0.0.1', 'x/b 10.0.0.1', 'x/c '] },
  },
  {
    name: 'a file named directly is read whatever its extension',
    files: { 'manifest.txt': pod('x/a') },
    paths: ['manifest.txt'],
    want: { pods: ['x/a 10.0.0.1'] },
  },
  {
    name: 'multi-document YAML with empty documents',
    files: { 'all.yaml': docs('', ns('x'), pod('x/a'), '# only a comment\n', policy('x/np')) },
    paths: ['all.yaml'],
    want: { pods: ['x/a 10.0.0.1'], policies: ['x/np'], warnings: [] },
  },
  {
    name: 'kind: List in JSON',
    files: {
      'list.json': JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, status: { podIP: '10.0.0.2' } },
            {
              apiVersion: 'networking.k8s.io/v1',
              kind: 'NetworkPolicy',
              metadata: { name: 'np', namespace: 'x' },
              spec: { podSelector: {} },
            },
          ],
        },
        null,
        '\t',
      ),
    },
    paths: ['list.json'],
    want: { pods: ['x/a 10.0.0.2'], policies: ['x/np'] },
  },
  {
    name: 'undeclared namespaces synthesised with their name label, silently; declared ones get it too',
    files: { 'a.yaml': docs(ns('x', '{team: a}'), pod('x/a'), pod('y/b'), policy('z/np')) },
    paths: ['a.yaml'],
    want: {
      namespaces: [
        'x {"team":"a","kubernetes.io/metadata.name":"x"}',
        'y {"kubernetes.io/metadata.name":"y"}',
        'z {"kubernetes.io/metadata.name":"z"}',
      ],
      warnings: [],
    },
  },
  {
    name: 'v1beta1 warning names file and object',
    files: { 'old.yaml': policy('x/np', 'extensions/v1beta1') },
    paths: ['.'],
    want: {
      warnings: [
        'old.yaml: x/np: apiVersion extensions/v1beta1 is deprecated for NetworkPolicy; read as networking.k8s.io/v1',
      ],
    },
  },
  {
    name: 'the same file reached twice is read once',
    files: { 'a.yaml': pod('x/a') },
    paths: ['a.yaml', '.', './a.yaml'],
    want: { files: ['a.yaml'], pods: ['x/a 10.0.0.1'] },
  },
  {
    name: 'objects sorted regardless of file order',
    files: { 'a.yaml': pod('y/a'), 'b.yaml': pod('x/b') },
    paths: ['.'],
    want: { pods: ['x/b 10.0.0.1', 'y/a 10.0.0.1'] },
  },
  {
    name: 'same name in different kinds or namespaces is not a duplicate',
    files: { 'a.yaml': docs(pod('x/a'), policy('x/a'), pod('y/a'), ns('a')) },
    paths: ['.'],
    want: { pods: ['x/a 10.0.0.1', 'y/a 10.0.0.1'], policies: ['x/a'] },
  },
  {
    name: 'empty directory warns',
    files: { 'empty/': '' },
    paths: ['empty'],
    want: { files: [], warnings: ['empty: -: no *.yaml, *.yml, *.json files in directory'] },
  },
  {
    name: 'missing file is unreadable',
    files: {},
    paths: ['nope.yaml'],
    wantError: /nope\.yaml: cannot read: ENOENT/,
    wantCode: 'SLUICE_MANIFEST_UNREADABLE',
  },
  {
    name: 'YAML syntax error names file and line',
    files: { 'bad.yaml': docs(pod('x/a'), 'kind: Pod\nmetadata: {name: b\n') },
    paths: ['bad.yaml'],
    wantError: /bad\.yaml: YAML syntax error at line \d+, column \d+: /,
  },
  {
    name: 'YAML syntax error line is the line of the fault',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x: y\n' },
    paths: ['bad.yaml'],
    wantError: /bad\.yaml: YAML syntax error at line 5, column \d+/,
  },
  {
    name: 'duplicate keys are a YAML error',
    files: { 'dup.yaml': 'kind: Pod\nkind: Pod\n' },
    paths: ['.'],
    wantError: /dup\.yaml: YAML syntax error at line 2.*unique/,
  },
  {
    name: 'duplicate object across files names both files',
    files: { 'a.yaml': pod('x/a'), 'b.yaml': pod('x/a', '10.0.0.9') },
    paths: ['.'],
    wantError: /b\.yaml: x\/a: duplicate Pod x\/a: defined in .*a\.yaml and .*b\.yaml/,
  },
  {
    name: 'duplicate object in one file',
    files: { 'a.yaml': docs(policy('x/np'), policy('x/np')) },
    paths: ['.'],
    wantError: /duplicate NetworkPolicy x\/np: defined twice in .*a\.yaml/,
  },
  {
    name: 'unknown kind names the file',
    files: { 'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n' },
    paths: ['.'],
    wantError: /svc\.yaml: x\/s: kind: unknown kind "Service"/,
  },
  {
    name: 'ClusterNetworkPolicies beside pods and policies, sorted by name; no namespace synthesised for them',
    files: { 'a.yaml': docs(cnp('zeta'), pod('x/a')), 'b.yaml': docs(policy('x/np'), cnp('alpha', 'Baseline')) },
    paths: ['.'],
    want: {
      namespaces: ['x {"kubernetes.io/metadata.name":"x"}'],
      pods: ['x/a 10.0.0.1'],
      policies: ['x/np'],
      clusterPolicies: ['alpha Baseline', 'zeta Admin'],
      warnings: [],
    },
  },
  {
    name: 'no ClusterNetworkPolicy: the list is present and empty',
    files: { 'a.yaml': pod('x/a') },
    paths: ['.'],
    want: { clusterPolicies: [] },
  },
  {
    name: 'ClusterNetworkPolicy with a namespace: read, warned, not a namespace of its own',
    files: { 'c.yaml': cnp('c', 'Admin', 'x') },
    paths: ['.'],
    want: {
      namespaces: [],
      clusterPolicies: ['c Admin'],
      warnings: ['c.yaml: c: metadata.namespace "x" is ignored: ClusterNetworkPolicy is cluster-scoped'],
    },
  },
  {
    name: 'duplicate ClusterNetworkPolicy across files names both files',
    files: { 'a.yaml': cnp('c'), 'b.yaml': cnp('c', 'Baseline') },
    paths: ['.'],
    wantError: /b\.yaml: c: duplicate ClusterNetworkPolicy c: defined in .*a\.yaml and .*b\.yaml/,
  },
  {
    name: 'a NetworkPolicy and a ClusterNetworkPolicy of the same name are no duplicate',
    files: { 'a.yaml': docs(policy('default/c'), cnp('c')) },
    paths: ['.'],
    want: { policies: ['default/c'], clusterPolicies: ['c Admin'] },
  },
  {
    name: 'invalid ClusterNetworkPolicy fails the load naming object and field',
    files: { 'c.yaml': cnp('c').replace('10.0.0.0/8', '10.0.0.1/8') },
    paths: ['.'],
    wantError: /c\.yaml: c: spec\.egress\[0\]\.to\[0\]\.networks\[0\]: CIDR "10\.0\.0\.1\/8" has host bits set/,
  },
  {
    name: 'invalid document after valid ones still fails the load',
    files: { 'a.yaml': pod('x/a'), 'b.yaml': docs(pod('x/b'), pod('x/c', '10.0.0.300')) },
    paths: ['.'],
    wantError: /b\.yaml: x\/c: status\.podIP: invalid IP address/,
  },
];

let root = '';
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sluice-manifests-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function materialise(dir: string, files: Case['files']): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    if (name.endsWith('/')) {
      await mkdir(full, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content);
  }
}

cases.forEach((c, i) => {
  test(c.name, async () => {
    const dir = path.join(root, `case-${i}`);
    await materialise(dir, c.files);
    const load = (): Promise<LoadedManifests> => loadManifestPaths(c.paths.map((p) => path.join(dir, p)));
    if (c.wantError !== undefined) {
      await assert.rejects(load, (err: unknown) => {
        assert.ok(err instanceof ManifestError, `not a ManifestError: ${String(err)}`);
        assert.match(err.message, c.wantError!);
        assert.equal(err.code, c.wantCode ?? 'SLUICE_MANIFEST_INVALID');
        return true;
      });
      return;
    }
    const got = summary(await load(), dir);
    const picked = Object.fromEntries(Object.keys(c.want ?? {}).map((k) => [k, got[k as keyof Summary]]));
    assert.deepStrictEqual(picked, c.want);
  });
});

test('an unreadable file is a ManifestUnreadableError carrying the cause', async () => {
  await assert.rejects(loadManifestPaths([path.join(root, 'missing-dir', 'x.yaml')]), (err: unknown) => {
    assert.ok(err instanceof ManifestUnreadableError);
    assert.ok(err instanceof ManifestError);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    assert.equal(err.context.file, path.join(root, 'missing-dir', 'x.yaml'));
    return true;
  });
});
