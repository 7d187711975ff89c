/** --conntrack: auto takes the kernel's conntrack only where its kfuncs exist; an explicit choice stands. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseConntrack, type ConntrackChoice } from '../../src/agent/conntrack-choice.js';

const present = () => ({ ok: true, reason: 'bpf_skb_ct_lookup, bpf_ct_release in /sys/kernel/btf/vmlinux' });
const absent = () => ({ ok: false, reason: 'not in /sys/kernel/btf/vmlinux (nf_conntrack not loaded)' });

const CASES: readonly [ConntrackChoice, typeof present, 'table' | 'kernel', RegExp][] = [
  ['auto', present, 'kernel', /^auto: the conntrack kfuncs are there \(bpf_skb_ct_lookup/],
  ['auto', absent, 'table', /^auto: sluice's own table, no conntrack kfuncs \(.*nf_conntrack not loaded/],
  ['table', present, 'table', /^--conntrack table$/],
  ['kernel', absent, 'kernel', /^--conntrack kernel$/],
];

for (const [choice, check, want, reason] of CASES) {
  test(`--conntrack ${choice}, kfuncs ${check === present ? 'present' : 'absent'} → ${want}`, () => {
    const d = chooseConntrack(choice, check);
    assert.equal(d.conntrack, want);
    assert.match(d.reason, reason);
  });
}
