/**
 * ManifestDirSource over real temp directories: the initial read, then
 * add / edit / delete of files noticed within a second (through fs.watch, and
 * through the periodic rescan alone), and leniency: a broken file keeps its
 * last good objects, one bad document is skipped while its neighbours load.
 * Then consistency: a file caught in the middle of a rewrite is not applied
 * until it settles, and the debounce waits for quiet (up to its cap).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
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
const cnp = (name: string, cidr = '10.0.0.0/8'): string =>
  [
    'apiVersion: policy.networking.k8s.io/v1beta1',
    'kind: ClusterNetworkPolicy',
    `metadata: {name: ${name}}`,
    `spec: {tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [${cidr}]}]}]}`,
    '',
  ].join('\n');
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
  /** Dates the file an hour back: a change long settled. */
  backdate(name: string): Promise<void>;
  /** Waits until `want` events arrived after `from`, at most 1 s; returns them. */
  next(from: number, count: number): Promise<string[]>;
}

const backdate = (file: string): Promise<void> => {
  const past = Date.now() / 1000 - 3600;
  return utimes(file, past, past);
};

/** The initial files are dated an hour back, as the files an agent finds at start usually are. */
async function harness(t: TestContext, files: Record<string, string>, opts: Partial<ManifestDirOptions> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-mdir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(dir, name), text);
    await backdate(path.join(dir, name));
  }
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
    backdate: (name) => backdate(path.join(dir, name)),
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

test('ClusterNetworkPolicy files: added at start, edited, a bad edit keeps the last good one, deleted', async (t) => {
  const h = await harness(t, { 'cnp.yaml': `${cnp('deny-10')}---\n${pod('x/a', '10.0.0.1')}` });
  assert.deepEqual(h.events, ['add ClusterNetworkPolicy deny-10', 'add Pod x/a', 'synced']);
  const added = h.raw.find((e) => e.type === 'add' && e.object.kind === 'ClusterNetworkPolicy');
  assert.ok(added?.type === 'add' && added.object.kind === 'ClusterNetworkPolicy');
  assert.deepEqual(added.object.value.egress[0]?.peers, [
    { kind: 'networks', cidrs: [{ family: 4, address: '10.0.0.0', prefixLength: 8 }] },
  ]);
  await h.write('cnp.yaml', `${cnp('deny-10', '192.168.0.0/16')}---\n${pod('x/a', '10.0.0.1')}`);
  assert.deepEqual(await h.next(3, 1), ['update ClusterNetworkPolicy deny-10']);
  await h.write('cnp.yaml', `${cnp('deny-10', '10.0.0.1/8')}---\n${pod('x/a', '10.0.0.1')}`);
  assert.deepEqual(await h.next(4, 1), ['invalid cnp.yaml deny-10']);
  const invalid = h.raw.at(-1);
  assert.ok(invalid?.type === 'invalid');
  assert.deepEqual([invalid.kind, invalid.field], ['ClusterNetworkPolicy', 'spec.egress[0].to[0].networks[0]']);
  await unlink(path.join(h.dir, 'cnp.yaml'));
  assert.deepEqual((await h.next(5, 2)).sort(), ['delete ClusterNetworkPolicy deny-10', 'delete Pod x/a']);
});

test('a ClusterNetworkPolicy in two files: the first stays, the duplicate is reported', async (t) => {
  const h = await harness(t, { 'a.yaml': cnp('c'), 'b.yaml': cnp('c', '192.168.0.0/16') });
  assert.deepEqual(h.events, ['invalid b.yaml c', 'add ClusterNetworkPolicy c', 'synced']);
});

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

test('start: a file written just now is read before synced', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-mdir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'np.yaml'), policy('x/np'));
  const source = new ManifestDirSource({ dir, debounceMs: 20 });
  t.after(() => source.stop());
  const events: string[] = [];
  await source.start((e) => events.push(describe(e)));
  assert.deepEqual(events, ['add NetworkPolicy x/np', 'synced']);
});

const both = (port: number): string => `${policy('x/np', port)}---\n${pod('x/p', '10.0.0.1')}`;

interface MidWriteCase {
  readonly name: string;
  /** The write started: what a scan can catch (before the fix, each emitted something: noted). */
  readonly midway: (h: Harness) => Promise<void>;
  /** The write finished, a while ago. */
  readonly done: (h: Harness) => Promise<void>;
  readonly want: string[];
}

const finish = async (h: Harness, name = 'np.yaml'): Promise<void> => {
  await h.write(name, both(443));
  await h.backdate(name);
};

const midWriteCases: MidWriteCase[] = [
  {
    // Was: delete NetworkPolicy x/np, delete Pod x/p.
    name: 'truncated, not written yet (cp, >, fs.writeFile)',
    midway: (h) => h.write('np.yaml', ''),
    done: (h) => finish(h),
    want: ['update NetworkPolicy x/np'],
  },
  {
    // Was: update NetworkPolicy x/np, delete Pod x/p.
    name: 'the first document written only',
    midway: (h) => h.write('np.yaml', `${policy('x/np', 443)}---\n`),
    done: (h) => finish(h),
    want: ['update NetworkPolicy x/np'],
  },
  {
    // Was: update NetworkPolicy x/np, update Pod x/p (its IP gone).
    name: 'cut inside the second document',
    midway: (h) => h.write('np.yaml', both(443).slice(0, both(443).indexOf('status:'))),
    done: (h) => finish(h),
    want: ['update NetworkPolicy x/np'],
  },
  {
    // Was: delete NetworkPolicy x/np, delete Pod x/p.
    name: 'renamed away by an editor, the new file not written yet',
    midway: (h) => rename(path.join(h.dir, 'np.yaml'), path.join(h.dir, 'np.yaml~')),
    done: (h) => finish(h),
    want: ['update NetworkPolicy x/np'],
  },
  {
    // Was: add NetworkPolicy x/new.
    name: 'a new file, half written',
    midway: (h) => h.write('new.yaml', `${policy('x/new')}---\n`),
    done: async (h) => {
      await h.write('new.yaml', `${policy('x/new')}---\n${pod('x/q', '10.0.0.2')}`);
      await h.backdate('new.yaml');
    },
    want: ['add NetworkPolicy x/new', 'add Pod x/q'],
  },
];

for (const c of midWriteCases) {
  test(`a scan in the middle of a rewrite applies nothing until it settles: ${c.name}`, async (t) => {
    // A long settle time, no watch, no rescan: only the scans below, all well within it.
    const h = await harness(t, { 'np.yaml': both(80) }, { watch: false, rescanMs: 60_000, settleMs: 60_000 });
    assert.deepEqual(h.events, ['add NetworkPolicy x/np', 'add Pod x/p', 'synced']);
    await c.midway(h);
    await h.source.scan();
    await h.source.scan();
    assert.deepEqual(h.events.slice(3), [], 'nothing while the file is being written');
    await c.done(h);
    await h.source.scan();
    assert.deepEqual(h.events.slice(3), c.want);
  });
}

interface SettleCase {
  readonly name: string;
  readonly opts: Partial<ManifestDirOptions>;
  readonly change: (h: Harness) => Promise<void>;
}

const settleCases: SettleCase[] = [
  { name: 'emptied (fs.watch)', opts: {}, change: (h) => h.write('np.yaml', '') },
  { name: 'emptied (rescan only)', opts: { watch: false }, change: (h) => h.write('np.yaml', '') },
  { name: 'removed', opts: {}, change: (h) => unlink(path.join(h.dir, 'np.yaml')) },
  {
    name: 'emptied, its mtime an hour ahead (a skewed file server clock)',
    opts: {},
    change: async (h) => {
      await h.write('np.yaml', '');
      const ahead = Date.now() / 1000 + 3600;
      await utimes(path.join(h.dir, 'np.yaml'), ahead, ahead);
    },
  },
];

for (const c of settleCases) {
  test(`a file that really changed deletes its objects once settled: ${c.name}`, async (t) => {
    const h = await harness(t, { 'np.yaml': both(80) }, { settleMs: 30, ...c.opts });
    await c.change(h);
    assert.deepEqual((await h.next(3, 2)).sort(), ['delete NetworkPolicy x/np', 'delete Pod x/p']);
  });
}

/** Wraps the source's scan to record when each scan starts (performance.now()). */
function recordScans(source: ManifestDirSource): number[] {
  const starts: number[] = [];
  const scan = source.scan.bind(source);
  source.scan = () => {
    starts.push(performance.now());
    return scan();
  };
  return starts;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the debounce waits for quiet: writes 30 ms apart for 200 ms, one scan after the last', async (t) => {
  const debounceMs = 50;
  const h = await harness(t, { 'np.yaml': policy('x/np') }, { debounceMs, settleMs: 1, rescanMs: 60_000 });
  const scans = recordScans(h.source);
  // A busy machine can stretch a 30 ms gap past the debounce; such a burst proves nothing, so try again.
  for (let attempt = 0, port = 1000; attempt < 5; attempt++) {
    const from = h.events.length;
    scans.length = 0;
    const writes: number[] = [];
    for (let elapsed = 0; elapsed < 200; elapsed += 30) {
      writes.push(performance.now());
      await h.write('np.yaml', policy('x/np', ++port));
      await sleep(30);
    }
    await sleep(debounceMs + 300);
    const gaps = writes.slice(1).map((w, i) => w - (writes[i] ?? w));
    if (Math.max(...gaps) >= debounceMs - 5) continue;
    const first = writes[0] ?? 0;
    const last = writes[writes.length - 1] ?? 0;
    assert.equal(
      scans.length,
      1,
      `one scan, not ${scans.length} (at ${scans.map((s) => Math.round(s - first)).join(', ')} ms)`,
    );
    const at = scans[0] ?? 0;
    assert.ok(at - last >= debounceMs - 5, `the scan waited for quiet after the last write (${at - last} ms)`);
    assert.ok(at - first <= 10 * debounceMs, `the scan came within the cap (${at - first} ms)`);
    assert.deepEqual(h.events.slice(from), ['update NetworkPolicy x/np']);
    return;
  }
  t.skip('machine too busy: every burst had a gap longer than the debounce');
});

test('the debounce is capped: a file rewritten every 20 ms is still read every maxDelayMs', async (t) => {
  const maxDelayMs = 150;
  const h = await harness(
    t,
    { 'np.yaml': policy('x/np') },
    { debounceMs: 50, maxDelayMs, settleMs: 1, rescanMs: 60_000 },
  );
  const scans = recordScans(h.source);
  const first = performance.now();
  for (let port = 1000; performance.now() - first < 600; port++) {
    await h.write('np.yaml', policy('x/np', port));
    await sleep(20);
  }
  const during = scans.filter((s) => s - first < 600);
  assert.ok(during.length >= 2, `scans during the burst: ${during.length}`);
  assert.ok((during[0] ?? Infinity) - first <= maxDelayMs + 150, `first scan after ${(during[0] ?? 0) - first} ms`);
});
