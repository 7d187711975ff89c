/** diffEndpoints / diffPolicies: what the change log reports between two syncs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffEndpoints, diffPolicies } from '../../src/agent/model-diff.js';
import type { DirectionState, Endpoint } from '../../src/model/compiled.js';
import { cluster, ingress, policy, rule } from '../compiler/builders.js';

const open: DirectionState = { isolated: false, policies: [], ruleSet: undefined, audit: false };
const iso = (p: string, rs = 'rs1'): DirectionState => ({ isolated: true, policies: [p], ruleSet: rs, audit: false });
const ep = (pod: string, ips: string[], over: Partial<Endpoint> = {}): Endpoint => ({
  pod,
  ips,
  ingress: open,
  egress: open,
  ...over,
});

const cases: { name: string; before: Endpoint[] | undefined; after: Endpoint[]; want: string[] }[] = [
  { name: 'first sync: everything added', before: undefined, after: [ep('x/a', ['10.0.0.1'])], want: ['x/a added'] },
  { name: 'nothing changed', before: [ep('x/a', ['10.0.0.1'])], after: [ep('x/a', ['10.0.0.1'])], want: [] },
  { name: 'pod gone', before: [ep('x/a', ['10.0.0.1'])], after: [], want: ['x/a removed'] },
  { name: 'new IP', before: [ep('x/a', ['10.0.0.1'])], after: [ep('x/a', ['10.0.0.2'])], want: ['x/a changed ips'] },
  {
    name: 'isolated for ingress',
    before: [ep('x/a', ['10.0.0.1'])],
    after: [ep('x/a', ['10.0.0.1'], { ingress: iso('x/np') })],
    want: ['x/a changed ingress.isolated,ingress.policies,ingress.rules'],
  },
  {
    name: 'egress rules changed only',
    before: [ep('x/a', ['10.0.0.1'], { egress: iso('x/np', 'r1') })],
    after: [ep('x/a', ['10.0.0.1'], { egress: iso('x/np', 'r2') })],
    want: ['x/a changed egress.rules'],
  },
];
for (const c of cases) {
  test(`diffEndpoints: ${c.name}`, () => {
    const got = diffEndpoints(c.before === undefined ? undefined : { endpoints: c.before }, { endpoints: c.after });
    assert.deepEqual(
      got.map((d) => `${d.pod} ${d.change}${d.fields.length > 0 ? ` ${d.fields.join(',')}` : ''}`),
      c.want,
    );
  });
}

test('diffPolicies: by identity (unchanged policies are the same objects)', () => {
  const keep = policy('x/keep', ingress(rule()));
  const edit = policy('x/edit', ingress(rule()));
  const before = cluster([], [], [keep, edit, policy('x/gone')]);
  const after = cluster([], [], [keep, policy('x/edit', ingress(rule())), policy('x/new')]);
  assert.deepEqual(
    diffPolicies(before, after).map((c) => `${c.policy} ${c.change}`),
    ['x/edit changed', 'x/new added', 'x/gone removed'],
  );
  assert.deepEqual(diffPolicies(after, after), []);
});
