/**
 * The standard test world, after the upstream NetworkPolicy e2e suite:
 * namespaces x, y, z with pods a, b, c in each (labels `pod: a` …), all on
 * node-a, addresses 10.0.<ns>.<pod> and fd00::<ns>:<pod>. Rows add policies
 * and tweak pods or namespaces, then assert flows.
 */
import assert from 'node:assert/strict';
import type { ClusterSnapshot, NetworkPolicy, Pod } from '../../src/model/k8s.js';
import type { FlowProtocol } from '../../src/compiler/verdict.js';
import { compile } from '../../src/compiler/compile.js';
import { evaluateFlow } from '../../src/compiler/verdict.js';
import { cluster, ns, pod } from './builders.js';

const NS = { x: 1, y: 2, z: 3 } as const;
const PODS = { a: 1, b: 2, c: 3 } as const;

export function worldPods(): Pod[] {
  const pods: Pod[] = [];
  for (const [n, ni] of Object.entries(NS)) {
    for (const [p, pi] of Object.entries(PODS)) {
      pods.push(pod(`${n}/${p}`, [`10.0.${ni}.${pi}`, `fd00::${ni}:${pi}`], { pod: p }));
    }
  }
  return pods;
}

export function world(
  policies: NetworkPolicy[],
  edit: (s: ClusterSnapshot) => ClusterSnapshot = (s) => s,
): ClusterSnapshot {
  return edit(
    cluster([ns('x', { team: 'red' }), ns('y', { team: 'blue' }), ns('z', { team: 'green' })], worldPods(), policies),
  );
}

/** `[from, to, 'TCP/80', allowed]`; from/to are `ns/pod` or an address. */
export type Expect = readonly [string, string, string, boolean];

export function addressOf(s: ClusterSnapshot, who: string, family: 4 | 6 = 4): string {
  if (!who.includes('/')) return who;
  const p = s.pods.find((q) => `${q.namespace}/${q.name}` === who);
  assert.ok(p, `no pod ${who}`);
  const ip = p.ips.find((i) => (family === 4 ? !i.includes(':') : i.includes(':')));
  assert.ok(ip, `pod ${who} has no IPv${family} address`);
  return ip;
}

export function checkFlows(s: ClusterSnapshot, expects: readonly Expect[], nodeName?: string, family: 4 | 6 = 4): void {
  const model = compile(s, nodeName);
  for (const [from, to, what, want] of expects) {
    const [protocol, portText] = what.split('/') as [FlowProtocol, string | undefined];
    const flow = {
      src: addressOf(s, from, family),
      dst: addressOf(s, to, family),
      protocol,
      port: Number(portText ?? 0),
    };
    const got = evaluateFlow(model, flow);
    assert.equal(got.allowed, want, `${from} -> ${to} ${what} (IPv${family}): want ${want ? 'allowed' : 'denied'}`);
  }
}
