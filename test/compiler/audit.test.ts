/**
 * Audit mode in the compiled model and in verdicts: DirectionState.audit is
 * true only when audited policies alone select a pod for a direction; an
 * enforced policy beside them takes over (audited allows never widen it);
 * `enforcement: 'audit'` audits every policy. A verdict passes what an audited
 * side alone would deny and names the policies, but a real deny on either
 * side wins.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Direction } from '../../src/model/compiled.js';
import type { Enforcement, NetworkPolicy } from '../../src/model/k8s.js';
import { compile, createCompiler } from '../../src/compiler/compile.js';
import { evaluateFlow, type FlowOutcome, type FlowProtocol } from '../../src/compiler/verdict.js';
import { audited, egress, ingress, podPeer, policy, port, rule, sel, selecting } from './builders.js';
import { addressOf, world } from './world.js';

/** `[pod, direction, audit, policies]`: the endpoint's DirectionState (isolated iff policies is non-empty). */
type StateExpect = readonly [string, Direction, boolean, readonly string[]];
/** `[from, to, 'TCP/80', outcome, wouldDenyBy]`. */
type FlowExpect = readonly [string, string, string, FlowOutcome, readonly string[]];

interface Row {
  readonly name: string;
  readonly policies: NetworkPolicy[];
  readonly enforcement?: Enforcement;
  readonly states: readonly StateExpect[];
  readonly flows: readonly FlowExpect[];
}

const fromPod = (p: string, ...ports: number[]) =>
  rule([podPeer(sel({ pod: p }))], ports.length === 0 ? undefined : ports.map((n) => port(n)));

const cases: Row[] = [
  {
    name: 'no policy: nothing isolated, nothing audited',
    policies: [],
    states: [
      ['x/a', 'ingress', false, []],
      ['x/a', 'egress', false, []],
    ],
    flows: [['y/a', 'x/a', 'TCP/80', 'allowed', []]],
  },
  {
    name: 'an audited default-deny isolates ingress as audit only: the packet passes as would-deny',
    policies: [policy('x/deny', audited, ingress())],
    states: [
      ['x/a', 'ingress', true, ['x/deny']],
      ['x/a', 'egress', false, []],
      ['y/a', 'ingress', false, []],
    ],
    flows: [
      ['y/a', 'x/a', 'TCP/80', 'would-deny', ['x/deny']],
      ['x/b', 'x/a', 'UDP/53', 'would-deny', ['x/deny']],
      ['x/a', 'y/a', 'TCP/80', 'allowed', []],
    ],
  },
  {
    name: 'an audited policy still allows what its rules allow',
    policies: [policy('x/b-80', audited, ingress(fromPod('b', 80)))],
    states: [['x/a', 'ingress', true, ['x/b-80']]],
    flows: [
      ['x/b', 'x/a', 'TCP/80', 'allowed', []],
      ['x/b', 'x/a', 'TCP/81', 'would-deny', ['x/b-80']],
      ['x/c', 'x/a', 'TCP/80', 'would-deny', ['x/b-80']],
    ],
  },
  {
    name: 'audited egress: the source side would deny',
    policies: [policy('x/no-out', audited, egress())],
    states: [
      ['x/a', 'egress', true, ['x/no-out']],
      ['x/a', 'ingress', false, []],
    ],
    flows: [
      ['x/a', 'y/a', 'TCP/80', 'would-deny', ['x/no-out']],
      ['x/a', '8.8.8.8', 'UDP/53', 'would-deny', ['x/no-out']],
    ],
  },
  {
    name: 'two audited policies: their allows add up, and both are named when neither allows',
    policies: [
      policy('x/a1', audited, ingress(fromPod('b'))),
      policy('x/a2', audited, ingress(rule(undefined, [port(443)]))),
    ],
    states: [['x/a', 'ingress', true, ['x/a1', 'x/a2']]],
    flows: [
      ['x/b', 'x/a', 'TCP/80', 'allowed', []],
      ['y/c', 'x/a', 'TCP/443', 'allowed', []],
      ['x/c', 'x/a', 'TCP/80', 'would-deny', ['x/a1', 'x/a2']],
    ],
  },
  {
    name: 'an enforced policy beside an audited one: audit is off and the audited allow-all does not widen it',
    policies: [policy('x/deny', ingress()), policy('x/all', audited, ingress(rule()))],
    states: [['x/a', 'ingress', false, ['x/deny']]],
    flows: [
      ['y/a', 'x/a', 'TCP/80', 'denied', []],
      ['x/b', 'x/a', 'TCP/80', 'denied', []],
    ],
  },
  {
    name: 'an enforced allow beside an audited deny-all: the audited policy reports nothing',
    policies: [policy('x/b-only', ingress(fromPod('b'))), policy('x/deny', audited, ingress())],
    states: [['x/a', 'ingress', false, ['x/b-only']]],
    flows: [
      ['x/b', 'x/a', 'TCP/80', 'allowed', []],
      ['x/c', 'x/a', 'TCP/80', 'denied', []],
    ],
  },
  {
    name: 'an enforced policy selecting one pod: only that pod loses audit',
    policies: [policy('x/deny-a', selecting(sel({ pod: 'a' })), ingress()), policy('x/deny', audited, ingress())],
    states: [
      ['x/a', 'ingress', false, ['x/deny-a']],
      ['x/b', 'ingress', true, ['x/deny']],
    ],
    flows: [
      ['y/a', 'x/a', 'TCP/80', 'denied', []],
      ['y/a', 'x/b', 'TCP/80', 'would-deny', ['x/deny']],
    ],
  },
  {
    name: 'audit is per direction: enforced egress, audited ingress',
    policies: [policy('x/no-out', egress()), policy('x/no-in', audited, ingress())],
    states: [
      ['x/a', 'egress', false, ['x/no-out']],
      ['x/a', 'ingress', true, ['x/no-in']],
    ],
    flows: [
      ['y/a', 'x/a', 'TCP/80', 'would-deny', ['x/no-in']],
      ['x/a', 'x/b', 'TCP/80', 'denied', []],
    ],
  },
  {
    name: 'both sides audited and both would deny: every policy is named once, sorted',
    policies: [policy('y/no-out', audited, egress()), policy('x/no-in', audited, ingress())],
    states: [
      ['y/a', 'egress', true, ['y/no-out']],
      ['x/a', 'ingress', true, ['x/no-in']],
    ],
    flows: [['y/a', 'x/a', 'TCP/80', 'would-deny', ['x/no-in', 'y/no-out']]],
  },
  {
    name: 'a pod reaching itself is never would-deny',
    policies: [policy('x/no-out', audited, egress()), policy('x/no-in', audited, ingress())],
    states: [['x/a', 'ingress', true, ['x/no-in']]],
    flows: [['x/a', 'x/a', 'TCP/80', 'allowed', []]],
  },
  {
    name: "enforcement 'audit' audits every policy, annotated or not",
    policies: [policy('x/deny', ingress())],
    enforcement: 'audit',
    states: [['x/a', 'ingress', true, ['x/deny']]],
    flows: [['y/a', 'x/a', 'TCP/80', 'would-deny', ['x/deny']]],
  },
  {
    name: "enforcement 'audit': enforced and audited policies are judged together",
    policies: [policy('x/b-only', ingress(fromPod('b'))), policy('x/deny', audited, ingress())],
    enforcement: 'audit',
    states: [['x/a', 'ingress', true, ['x/b-only', 'x/deny']]],
    flows: [
      ['x/b', 'x/a', 'TCP/80', 'allowed', []],
      ['x/c', 'x/a', 'TCP/80', 'would-deny', ['x/b-only', 'x/deny']],
    ],
  },
  {
    name: "enforcement 'enforce' is the default: each policy as annotated",
    policies: [policy('x/deny', ingress())],
    enforcement: 'enforce',
    states: [['x/a', 'ingress', false, ['x/deny']]],
    flows: [['y/a', 'x/a', 'TCP/80', 'denied', []]],
  },
];

for (const c of cases) {
  test(`audit: ${c.name}`, () => {
    const s = world(c.policies);
    const model = compile(s, undefined, c.enforcement === undefined ? {} : { enforcement: c.enforcement });
    for (const [pod, direction, audit, policies] of c.states) {
      const state = model.endpoints.find((e) => e.pod === pod)?.[direction];
      assert.ok(state, `no endpoint ${pod}`);
      assert.deepEqual(
        { isolated: state.isolated, audit: state.audit, policies: state.policies },
        { isolated: policies.length > 0, audit, policies },
        `${pod} ${direction}`,
      );
    }
    for (const [from, to, what, outcome, wouldDenyBy] of c.flows) {
      const [protocol, portText] = what.split('/') as [FlowProtocol, string];
      const v = evaluateFlow(model, {
        src: addressOf(s, from),
        dst: addressOf(s, to),
        protocol,
        port: Number(portText),
      });
      const label = `${from} -> ${to} ${what}`;
      assert.deepEqual(
        { outcome: v.outcome, allowed: v.allowed, wouldDeny: v.wouldDeny, wouldDenyBy: v.wouldDenyBy },
        { outcome, allowed: outcome !== 'denied', wouldDeny: outcome === 'would-deny', wouldDenyBy },
        label,
      );
      assert.equal(v.egress.allowed && v.ingress.allowed, v.allowed, `${label}: sides agree with the flow`);
    }
  });
}

test('audit: a side that would deny is reported even when the other side denies for real', () => {
  const s = world([policy('x/no-out', egress()), policy('x/no-in', audited, ingress())]);
  const v = evaluateFlow(compile(s), { src: addressOf(s, 'x/a'), dst: addressOf(s, 'x/b'), protocol: 'TCP', port: 80 });
  assert.equal(v.outcome, 'denied');
  assert.deepEqual(
    [v.egress.allowed, v.egress.audit, v.egress.wouldDeny],
    [false, false, false],
    'egress denies for real',
  );
  assert.deepEqual([v.ingress.allowed, v.ingress.audit, v.ingress.wouldDeny], [true, true, true], 'ingress audits');
  assert.deepEqual(v.ingress.policies, ['x/no-in']);
  assert.equal(v.ingress.reason, undefined);
});

test('audit: recompiling after a policy turns audited flips DirectionState.audit both ways', () => {
  const compiler = createCompiler();
  const enforced = policy('x/deny', ingress());
  const auditOf = (p: NetworkPolicy): boolean | undefined =>
    compiler.compile(world([p])).endpoints.find((e) => e.pod === 'x/a')?.ingress.audit;
  assert.equal(auditOf(enforced), false);
  assert.equal(auditOf(audited(enforced)), true);
  assert.equal(auditOf(enforced), false);
});
