/**
 * KubeSource and KeptInformer without an API server: fake informers scripted
 * per start (list fails, watch fails, succeeds), and client-node's real
 * ListWatch over a fake Watch to check relist on 410 and resume from the
 * resourceVersion after an error. Delays are recorded, never waited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListWatch, type KubernetesObject, type Watch } from '@kubernetes/client-node';
import { backoffDelay, type BackoffPolicy } from '../../src/source/backoff.js';
import type { InformerLike } from '../../src/source/kube-informer.js';
import { KubeSource, type KindSpec, type KubeObject } from '../../src/source/kube.js';
import type { SourceEvent } from '../../src/source/types.js';

const exact: BackoffPolicy = { baseMs: 1000, capMs: 30_000, random: () => 1 };

const backoffCases = [
  { name: 'first retry ~1 s', attempt: 0, random: 1, want: 1000 },
  { name: 'doubles', attempt: 3, random: 1, want: 8000 },
  { name: 'capped at 30 s', attempt: 9, random: 1, want: 30_000 },
  { name: 'jitter keeps at least half', attempt: 2, random: 0, want: 2000 },
  { name: 'jitter halfway', attempt: 2, random: 0.5, want: 3000 },
  { name: 'huge attempt does not overflow', attempt: 5000, random: 1, want: 30_000 },
];
for (const c of backoffCases) {
  test(`backoffDelay: ${c.name}`, () => {
    assert.equal(backoffDelay(c.attempt, { ...exact, random: () => c.random }), c.want);
  });
}

type Step = 'ok' | 'fail';

/** A fake informer: each start() plays the next step; objects are pushed by the test. */
class FakeInformer implements InformerLike<KubeObject> {
  starts = 0;
  stopped = false;
  private readonly handlers = new Map<string, ((x: never) => void)[]>();
  constructor(
    private readonly steps: Step[],
    private readonly items: KubeObject[] = [],
  ) {}
  on(verb: string, cb: (x: never) => void): void {
    this.handlers.set(verb, [...(this.handlers.get(verb) ?? []), cb]);
  }
  fire(verb: string, x: unknown): void {
    for (const h of this.handlers.get(verb) ?? []) h(x as never);
  }
  async start(): Promise<void> {
    this.starts++;
    const step = this.steps.shift() ?? 'ok';
    if (step === 'fail') {
      this.fire('error', new Error('connect ECONNREFUSED'));
      return;
    }
    for (const item of this.items) this.fire('add', item);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

const nsObj = (name: string): KubeObject => ({ metadata: { name } });
const podObj = (id: string, ip: string, labels: Record<string, string> = {}): KubeObject => {
  const [namespace, name] = id.split('/');
  return { metadata: { name, namespace, labels }, status: { podIP: ip, phase: 'Running' } } as KubeObject;
};
const npObj = (id: string, cidr = '10.0.0.0/8'): KubeObject => {
  const [namespace, name] = id.split('/');
  return {
    metadata: { name, namespace },
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr } }] }] },
  } as KubeObject;
};

function describe(e: SourceEvent): string {
  if (e.type === 'add' || e.type === 'update' || e.type === 'delete')
    return `${e.type} ${e.object.kind} ${e.object.id}`;
  if (e.type === 'invalid') return `invalid ${e.kind ?? '-'} ${e.object ?? '-'} ${e.field ?? '-'}`;
  if (e.type === 'error') return `error ${e.kind ?? '-'}`;
  return e.type;
}

async function setup(fakes: Record<string, FakeInformer>) {
  const delays: string[] = [];
  const events: string[] = [];
  const raw: SourceEvent[] = [];
  const source = new KubeSource({
    informers: (spec: KindSpec) => fakes[spec.kind] ?? new FakeInformer([]),
    backoff: exact,
    delay: async (ms) => {
      delays.push(`${ms}`);
    },
  });
  await source.start((e) => {
    raw.push(e);
    events.push(describe(e));
  });
  await new Promise((r) => setImmediate(r));
  return { source, delays, events, raw };
}

test('synced only after all three kinds listed; list objects get kind and apiVersion', async () => {
  const pods = new FakeInformer(['fail', 'fail', 'fail'], [podObj('x/a', '10.0.0.1')]);
  const { source, delays, events } = await setup({
    Namespace: new FakeInformer([], [nsObj('x')]),
    Pod: pods,
    NetworkPolicy: new FakeInformer([], [npObj('x/np')]),
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(delays, ['1000', '2000', '4000']);
  assert.equal(pods.starts, 4);
  assert.deepEqual(events, [
    'add Namespace x',
    'error Pod',
    'add NetworkPolicy x/np',
    'error Pod',
    'error Pod',
    'add Pod x/a',
    'synced',
  ]);
  assert.equal(source.synced, true);
  await source.stop();
});

test('an error after sync keeps every object, restarts after 1 s again (backoff reset)', async () => {
  const pods = new FakeInformer(['fail', 'ok'], [podObj('x/a', '10.0.0.1')]);
  const { source, delays, events } = await setup({ Pod: pods });
  assert.deepEqual(delays, ['1000']);
  const before = events.length;
  pods.fire('error', Object.assign(new Error('watch closed'), { code: 'ECONNRESET' }));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(delays, ['1000', '1000']);
  assert.deepEqual(events.slice(before), ['error Pod'], 'the relist re-adds x/a unchanged: no event');
  assert.equal(pods.starts, 3);
  assert.equal(source.synced, true);
  await source.stop();
});

test('an invalid policy is skipped and reported; turning invalid keeps the last good version', async () => {
  const nps = new FakeInformer([], [npObj('x/good'), npObj('x/bad', '10.0.0.0/99')]);
  const { source, events } = await setup({ NetworkPolicy: nps });
  assert.ok(events.includes('invalid NetworkPolicy x/bad spec.ingress[0].from[0].ipBlock.cidr'));
  assert.ok(events.includes('add NetworkPolicy x/good'));
  const n = events.length;
  nps.fire('update', npObj('x/good', 'nonsense'));
  nps.fire('update', npObj('x/good', '10.0.0.0/8')); // same as before: nothing
  nps.fire('update', npObj('x/good', '192.168.0.0/16'));
  nps.fire('delete', npObj('x/bad'));
  nps.fire('delete', npObj('x/good'));
  assert.deepEqual(events.slice(n), [
    'invalid NetworkPolicy x/good spec.ingress[0].from[0].ipBlock.cidr',
    'update NetworkPolicy x/good',
    'delete NetworkPolicy x/good',
  ]);
  await source.stop();
});

test('stop during a backoff: no restart afterwards, no events', async () => {
  let release: () => void = () => {};
  const pods = new FakeInformer(['fail']);
  const source = new KubeSource({
    informers: (spec) => (spec.kind === 'Pod' ? pods : new FakeInformer([])),
    delay: () => new Promise<void>((r) => (release = r)),
  });
  const events: SourceEvent[] = [];
  await source.start((e) => events.push(e));
  await source.stop();
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(pods.starts, 1);
  assert.equal(pods.stopped, true);
  assert.equal(source.synced, false);
});

/** A fake of client-node's Watch: each watch() plays a script entry. */
function fakeWatch(script: ((done: (err: unknown) => void, cb: (phase: string, obj: unknown) => void) => void)[]) {
  const calls: Record<string, unknown>[] = [];
  const watch = {
    watch: async (
      _path: string,
      query: Record<string, unknown>,
      cb: (phase: string, obj: unknown) => void,
      done: (err: unknown) => void,
    ) => {
      calls.push({ ...query });
      const step = script.shift();
      if (step !== undefined) step(done, cb);
      return new AbortController();
    },
  };
  return { watch: watch as unknown as Watch, calls };
}

test('real ListWatch: relist on 410 Gone, resume from resourceVersion after an error', async () => {
  let lists = 0;
  const listFn = async () => {
    lists++;
    const items = lists === 1 ? [podObj('x/a', '10.0.0.1'), podObj('x/b', '10.0.0.2')] : [podObj('x/a', '10.0.0.1')];
    return { items: items as KubernetesObject[], metadata: { resourceVersion: `${lists}0` } };
  };
  const { watch, calls } = fakeWatch([
    (done) => setImmediate(() => done(new Error('ECONNRESET'))),
    (done) => setImmediate(() => done(Object.assign(new Error('Gone'), { statusCode: 410 }))),
  ]);
  const delays: string[] = [];
  const real = new KubeSource({
    informers: (spec) =>
      spec.kind === 'Pod'
        ? (new ListWatch<KubernetesObject>(spec.path, watch, listFn, false) as InformerLike<KubeObject>)
        : new FakeInformer([]),
    backoff: exact,
    delay: async (ms) => void delays.push(`${ms}`),
  });
  const got: string[] = [];
  await real.start((e) => got.push(describe(e)));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(lists, 2, 'listed at start and after 410 only');
  assert.deepEqual(
    calls.map((c) => c['resourceVersion']),
    ['10', '10', '20'],
    'resumed from 10 after the error; from the relist after 410',
  );
  assert.deepEqual(got, ['add Pod x/a', 'add Pod x/b', 'synced', 'error Pod', 'delete Pod x/b']);
  assert.deepEqual(delays, ['1000'], 'the 410 is handled inside ListWatch, without a backoff');
  await real.stop();
});

test('typed list items (from → _from) are serialised back to API JSON before normalising', async () => {
  const { ObjectSerializer } = await import('@kubernetes/client-node/dist/gen/models/ObjectSerializer.js');
  const { listItemsAsJson } = await import('../../src/source/kube-client.js');
  const json = {
    items: [
      {
        metadata: { name: 'np', namespace: 'x', creationTimestamp: '2024-01-01T00:00:00Z' },
        spec: {
          podSelector: { matchLabels: { app: 'a' } },
          ingress: [
            { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 'http' }] },
          ],
        },
      },
    ],
    metadata: { resourceVersion: '7' },
  };
  const typed = ObjectSerializer.deserialize(json, 'V1NetworkPolicyList', '');
  assert.ok('_from' in typed.items[0].spec.ingress[0], 'the typed model renames from');
  const list = listItemsAsJson(typed, 'V1NetworkPolicy');
  const nps = new FakeInformer([], list.items as KubeObject[]);
  const { source, raw } = await setup({ NetworkPolicy: nps });
  const added = raw.find((e) => e.type === 'add' && e.object.kind === 'NetworkPolicy');
  assert.ok(added?.type === 'add' && added.object.kind === 'NetworkPolicy');
  assert.equal(added.object.value.ingress[0]?.peers?.[0]?.ipBlock?.cidr.address, '10.0.0.0');
  assert.equal(raw.filter((e) => e.type === 'invalid').length, 0);
  await source.stop();
});
