/**
 * The iptables datapath on real packets (root only): the shared conformance
 * suite for every iptables backend that works here, in both topologies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { conformanceSuite } from '../support/conformance.js';
import type { NodeNs } from '../support/netns.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
const variants: IptablesVariant[] = (['iptables-nft', 'iptables-legacy'] as const).filter((v) => works(v));

async function verifyClean(variant: IptablesVariant, node: NodeNs): Promise<void> {
  const six = variant.replace('iptables', 'ip6tables');
  for (const save of [`${variant}-save`, `${six}-save`]) {
    const text = await node.exec(save, ['-t', 'filter']);
    assert.doesNotMatch(text, /SLUICE/, `${save} still shows SLUICE chains or jumps`);
  }
  const sets = await node.exec('ipset', ['list', '-n']);
  assert.doesNotMatch(sets, /^sluice-/m, 'sluice- sets left behind');
}

for (const variant of variants) {
  conformanceSuite({
    name: `iptables (${variant})`,
    datapath: (node) => new IptablesDatapath({ iptables: variant, netns: node.name }),
    natIptables: variant,
    verifyClean: (node) => verifyClean(variant, node),
  });
}
