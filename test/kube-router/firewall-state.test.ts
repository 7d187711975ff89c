/**
 * Reading and removing kube-router's state, table-driven on iptables-save and
 * `ipset list -n` text shaped like what kube-router v2.1.0 leaves (as seen in
 * kube-router.priv.test.ts), with other programs' chains and sets beside it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanupScript, kubeRouterChains, kubeRouterSets, ruleCount } from './firewall-state.js';

const save = (...lines: string[]): string => ['*filter', ...lines, 'COMMIT', ''].join('\n');
const JUMPS = [
  '-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
  '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
];
const CHAINS = [':KUBE-ROUTER-INPUT - [0:0]', ':KUBE-ROUTER-FORWARD - [0:0]', ':KUBE-POD-FW-KWIPO7QJBKWCCCVM - [0:0]'];
const OWN = [
  '-A KUBE-ROUTER-FORWARD -d 10.100.0.10/32 -j KUBE-POD-FW-KWIPO7QJBKWCCCVM',
  '-A KUBE-POD-FW-KWIPO7QJBKWCCCVM -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable',
];
const OTHER = [':SLUICE-FWD - [0:0]', '-A FORWARD -j SLUICE-FWD', '-A SLUICE-FWD -j ACCEPT'];

const cases: { name: string; save: string; chains: string[]; script: string[] | undefined }[] = [
  { name: 'an empty filter table: nothing to do', save: save(':INPUT ACCEPT [0:0]'), chains: [], script: undefined },
  { name: 'only other chains: nothing to do', save: save(...OTHER), chains: [], script: undefined },
  {
    name: 'jumps deleted by spec, then chains flushed, then deleted; other chains kept',
    save: save(':INPUT ACCEPT [5:10]', ...CHAINS, ...OTHER, ...JUMPS, ...OWN),
    chains: ['KUBE-ROUTER-INPUT', 'KUBE-ROUTER-FORWARD', 'KUBE-POD-FW-KWIPO7QJBKWCCCVM'],
    script: [
      '*filter',
      '-D INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
      '-D FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
      '-F KUBE-ROUTER-INPUT',
      '-F KUBE-ROUTER-FORWARD',
      '-F KUBE-POD-FW-KWIPO7QJBKWCCCVM',
      '-X KUBE-ROUTER-INPUT',
      '-X KUBE-ROUTER-FORWARD',
      '-X KUBE-POD-FW-KWIPO7QJBKWCCCVM',
      'COMMIT',
      '',
    ],
  },
  {
    name: 'a jump left without its chain (a crash mid-cleanup) is still deleted',
    save: save(JUMPS[0] ?? ''),
    chains: [],
    script: ['*filter', `-D ${(JUMPS[0] ?? '').slice(3)}`, 'COMMIT', ''],
  },
  {
    name: 'a policy chain, goto included',
    save: save(':KUBE-NWPLCY-GYWQ6C54XJXNXST6 - [0:0]', '-A OUTPUT -g KUBE-NWPLCY-GYWQ6C54XJXNXST6'),
    chains: ['KUBE-NWPLCY-GYWQ6C54XJXNXST6'],
    script: [
      '*filter',
      '-D OUTPUT -g KUBE-NWPLCY-GYWQ6C54XJXNXST6',
      '-F KUBE-NWPLCY-GYWQ6C54XJXNXST6',
      '-X KUBE-NWPLCY-GYWQ6C54XJXNXST6',
      'COMMIT',
      '',
    ],
  },
];

for (const c of cases) {
  test(`cleanupScript: ${c.name}`, () => {
    assert.deepEqual(kubeRouterChains(c.save), c.chains);
    assert.equal(cleanupScript(c.save), c.script?.join('\n'));
  });
}

const setCases: { name: string; names: string[]; want: string[] }[] = [
  { name: 'none', names: [''], want: [] },
  {
    name: 'source, destination, IPv6 and temporary sets, not others',
    names: ['KUBE-DST-TLVWR25UHP6EQFVL', 'sluice-v4-c1', 'inet6:KUBE-SRC-5MLRJHPCF7FMAGEG', 'TMP-ABCDEF', 'KUBE-X', ''],
    want: ['KUBE-DST-TLVWR25UHP6EQFVL', 'inet6:KUBE-SRC-5MLRJHPCF7FMAGEG', 'TMP-ABCDEF'],
  },
];

for (const c of setCases) {
  test(`kubeRouterSets: ${c.name}`, () => {
    assert.deepEqual(kubeRouterSets(c.names.join('\n')), c.want);
  });
}

test('ruleCount counts -A lines only', () => {
  assert.equal(ruleCount(save(':INPUT ACCEPT [0:0]', ...CHAINS, ...JUMPS, ...OWN, '# a comment')), 4);
  assert.equal(ruleCount(''), 0);
});
