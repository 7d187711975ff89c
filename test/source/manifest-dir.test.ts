/**
 * ManifestDirSource over real temp directories: the initial read, then
 * add / edit / delete of files noticed within a second (through fs.watch, and
 * through the periodic rescan alone), and leniency: a broken file keeps its
 * last good objects, one bad document is skipped while its neighbours load.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ManifestDirSource, type ManifestDirOptions } from '../../src/source/manifest-dir.js';
import { ManifestUnreadableError } from '../../src/source/manifest-files.js';
import type { SourceEvent } from '../../src/source/types.js';

const policy = (id: string, port = 80): string => {
  const [namespace, name] = id.split('/');
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicy',
    `metadata: {name: ${name}, namespace: ${namespace}}`,
    `spec: {podSelector: {}, ingress: [{ports: [{port: ${port}}]}]}`,
    '',
  ].join('\n');
};
const pod = (id: string, ip: string): string => {
  const [namespace, name] = id.split('/');
  return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${namespace}}\nstatus: {podIP: ${ip}}\n`;
};
const badCidrPolicy = (id: string): string =>
  policy(id).replace('ingress: [{ports: [{port: 80}]}]', 'ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/99}}]}]');

/** One line per event, easy to compare. */
function describe(e: SourceEvent): string {
  switch (e.type) {
    case 'add':
    case 'delete':
      return `${e.type} ${e.object.kind} ${e.object.id}`;
    case 'update':
      return `update ${e.object.kind} ${e.object.id}`;
    case 'invalid':
      return `invalid ${path.basename(e.file)} ${e.object ?? '-'}`;
    case 'synced':
      return 'synced';
    case 'error':
      return 'error';
  }
}

interface Harness {
  readonly dir: string;
  readonly events: string[];
  readonly raw: SourceEvent[];
  readonly source: ManifestDirSource;
  write(name: string, text: string): Promise<void>;
  /** Waits until `want` events arrived after `from`, at most 1 s; returns them. */
  next(from: number, count: number): Promise<string[]>;
}

async function harness(t: TestContext, files: Record<string, string>, opts: Partial<ManifestDirOptions> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-mdir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const events: string[] = [];
  const raw: SourceEvent[] = [];
  const source = new ManifestDirSource({ dir, debounceMs: 20, rescanMs: 200, ...opts });
  t.after(() => source.stop());
  await source.start((e) => {
    raw.push(e);
    events.push(describe(e));
  });
  const h: Harness = {
    dir,
    events,
    raw,
    source,
    write: (name, text) => writeFile(path.join(dir, name), text),
    async next(from, count) {
      const deadline = Date.now() + 1000;
      while (events.length < from + count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // catch any extra event
      return events.slice(from);
    },
  };
  return h;
}

test('start: every object added, then synced', async (t) => {
  const h = await harness(t, { 'a.yaml': `${pod('x/a', '10.0.0.1')}---\n${policy('x/np')}`, 'notes.txt': 'x' });
  assert.deepEqual(h.events, ['add Pod x/a', 'add NetworkPolicy x/np', 'synced']);
  assert.equal(h.source.synced, true);
});

for (const watch of [true, false]) {
  test(`add, edit, delete a policy file: an event within 1 s each (${watch ? 'fs.watch' : 'rescan only'})`, async (t) => {
    const h = await harness(t, {}, { watch });
    assert.deepEqual(h.events, ['synced']);
    await h.write('np.yaml', policy('x/np'));
    assert.deepEqual(await h.next(1, 1), ['add NetworkPolicy x/np']);
    await h.write('np.yaml', policy('x/np', 443));
    assert.deepEqual(await h.next(2, 1), ['update NetworkPolicy x/np']);
    await unlink(path.join(h.dir, 'np.yaml'));
    assert.deepEqual(await h.next(3, 1), ['delete NetworkPolicy x/np']);
  });
}

test('a rewrite that changes nothing normalised emits nothing', async (t) => {
  const h = await harness(t, { 'np.yaml': policy('x/np') });
  await h.write('np.yaml', `# a comment\n${policy('x/np')}`);
  await h.source.scan();
  assert.deepEqual(await h.next(2, 0), []);
});

test('a file that stops parsing keeps its objects and is reported once', async (t) => {
  const h = await harness(t, { 'np.yaml': policy('x/np') });
  await h.write('np.yaml', 'kind: NetworkPolicy\nmetadata: {name: [unclosed\n');
  assert.deepEqual(await h.next(2, 1), ['invalid np.yaml -']);
  await new Promise((r) => setTimeout(r, 450)); // two rescans: not reported again, nothing deleted
  assert.deepEqual(h.events.slice(2), ['invalid np.yaml -']);
  await h.write('np.yaml', policy('x/np', 8080));
  assert.deepEqual(await h.next(3, 1), ['update NetworkPolicy x/np']);
});

test('one bad policy is skipped; the rest of its file loads', async (t) => {
  const h = await harness(t, {
    'all.yaml': [policy('x/good'), badCidrPolicy('x/bad'), pod('x/p', '10.0.0.1')].join('---\n'),
  });
  assert.deepEqual(h.events, ['invalid all.yaml x/bad', 'add NetworkPolicy x/good', 'add Pod x/p', 'synced']);
  const invalid = h.raw.find((e) => e.type === 'invalid');
  assert.ok(invalid?.type === 'invalid');
  assert.equal(invalid.kind, 'NetworkPolicy');
  assert.match(invalid.field ?? '', /ipBlock\.cidr/);
});

test('a policy that turns bad keeps its last good version', async (t) => {
  const h = await harness(t, { 'np.yaml': `${policy('x/np')}---\n${policy('x/other')}` });
  await h.write('np.yaml', `${badCidrPolicy('x/np')}---\n${policy('x/other', 22)}`);
  assert.deepEqual(await h.next(3, 2), ['invalid np.yaml x/np', 'update NetworkPolicy x/other']);
});

test('an object in two files: the first stays, the duplicate is reported once', async (t) => {
  const h = await harness(t, { 'a.yaml': policy('x/np'), 'b.yaml': policy('x/np', 22) });
  assert.deepEqual(h.events, ['invalid b.yaml x/np', 'add NetworkPolicy x/np', 'synced']);
  const added = h.raw.find((e) => e.type === 'add');
  assert.ok(added?.type === 'add' && added.object.kind === 'NetworkPolicy');
  await h.source.scan();
  assert.equal(h.events.length, 3);
});

test('a missing directory: start rejects with MANIFEST_UNREADABLE', async () => {
  const source = new ManifestDirSource({ dir: path.join(os.tmpdir(), 'sluice-no-such-dir-xyz') });
  await assert.rejects(
    source.start(() => {}),
    ManifestUnreadableError,
  );
  await source.stop();
});

test('the directory disappearing keeps the state and reports an error', async (t) => {
  const h = await harness(t, { 'np.yaml': policy('x/np') });
  await rm(h.dir, { recursive: true });
  await h.source.scan();
  assert.deepEqual(h.events.slice(2), ['error']);
});
