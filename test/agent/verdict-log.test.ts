/** Denied-flow log lines: the line limiter, the fields of a line, the context fed by source events and syncs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDenied, LineLimiter, VerdictContext } from '../../src/agent/verdict-log.js';
import * as L from '../../src/datapath/ebpf/layout.js';
import type { CompiledPolicy } from '../../src/model/compiled.js';
import { pod } from '../compiler/builders.js';

test('LineLimiter: at most N per second, the rest counted and reported once', () => {
  const l = new LineLimiter(2);
  const steps: [number, boolean, number][] = [
    [0, true, 0],
    [10, true, 0],
    [20, false, 0],
    [30, false, 0],
    [1005, true, 2],
    [1006, true, 0],
    [1007, false, 0],
  ];
  for (const [now, admit, flushed] of steps) assert.deepEqual(l.admit(now), { admit, flushed }, `at ${now}`);
  assert.equal(l.expire(1500), 0, 'window not over yet');
  assert.equal(l.expire(2010), 1, 'reported when the window ends without new events');
  assert.equal(l.expire(2020), 0, 'only once');
});

function bytes(ip: string): number[] {
  const out = new Array<number>(16).fill(0);
  ip.split('.').forEach((o, i) => (out[i] = Number(o)));
  return out;
}

function event(over: Partial<L.VerdictEvent>): L.VerdictEvent {
  return L.event.decode(
    L.event.encode({
      timestampNs: 1n,
      endpointId: 3,
      policyId: 0,
      rule: 0,
      direction: L.DIRECTION.ingress,
      verdict: L.VERDICT.deny,
      reason: L.REASON.noPolicy,
      family: L.FAMILY.v4,
      protocol: 6,
      sport: 40000,
      dport: 8080,
      saddr: new Uint8Array(bytes('10.0.0.2')),
      daddr: new Uint8Array(bytes('10.0.0.1')),
      peerClass: 0,
      ...over,
    } as L.VerdictEvent),
  );
}

function context(): VerdictContext {
  const ctx = new VerdictContext();
  ctx.event({ type: 'add', object: { kind: 'Pod', id: 'shop/web', value: pod('shop/web', '10.0.0.1') } });
  ctx.event({ type: 'add', object: { kind: 'Pod', id: 'shop/client', value: pod('shop/client', '10.0.0.2') } });
  ctx.setNames([
    { kind: L.NAME_KIND.endpoint, id: 3, name: 'shop/web' },
    { kind: L.NAME_KIND.policy, id: 9, name: 'shop/web-in' },
  ]);
  const isolated = { isolated: true, policies: ['shop/web-in'], ruleSet: 'r1' };
  const open = { isolated: false, policies: [], ruleSet: undefined };
  ctx.model({
    endpoints: [{ pod: 'shop/web', ips: ['10.0.0.1'], ingress: isolated, egress: open }],
  } as unknown as CompiledPolicy);
  return ctx;
}

const cases = [
  {
    name: 'ingress deny by isolation: both pods, port, protocol, isolating policy',
    event: event({}),
    want: {
      pod: 'shop/web',
      direction: 'ingress',
      peer: '10.0.0.2',
      peerPod: 'shop/client',
      protocol: 'TCP',
      port: 8080,
      reason: 'noPolicy',
      isolatedBy: ['shop/web-in'],
    },
  },
  {
    name: 'egress deny, policy id named, unknown peer',
    event: event({
      direction: L.DIRECTION.egress,
      policyId: 9,
      reason: L.REASON.policy,
      protocol: 17,
      dport: 53,
      saddr: new Uint8Array(bytes('10.0.0.1')),
      daddr: new Uint8Array(bytes('192.0.2.9')),
    }),
    want: {
      pod: 'shop/web',
      direction: 'egress',
      peer: '192.0.2.9',
      peerPod: undefined,
      protocol: 'UDP',
      port: 53,
      reason: 'policy',
      policy: 'shop/web-in',
    },
  },
];
for (const c of cases) {
  test(`describeDenied: ${c.name}`, () => {
    assert.deepEqual(describeDenied(c.event, context()), c.want);
  });
}

test('VerdictContext: a pod that moves or goes is forgotten at its old address', () => {
  const ctx = context();
  const moved = pod('shop/client', '10.0.0.7');
  const old = { kind: 'Pod', id: 'shop/client', value: pod('shop/client', '10.0.0.2') } as const;
  ctx.event({ type: 'update', old, object: { kind: 'Pod', id: 'shop/client', value: moved } });
  assert.equal(ctx.pod('10.0.0.2'), undefined);
  assert.equal(ctx.pod('10.0.0.7'), 'shop/client');
  ctx.event({ type: 'delete', object: { kind: 'Pod', id: 'shop/client', value: moved } });
  assert.equal(ctx.pod('10.0.0.7'), undefined);
});
