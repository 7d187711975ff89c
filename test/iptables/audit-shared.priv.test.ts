/**
 * The shared audit scenario (test/support/audit-suite.ts) on the iptables
 * datapath, every backend that works here; audit.priv.test.ts has this
 * datapath's own cases (counter carry-over across set generations).
 */
import { spawnSync } from 'node:child_process';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import { auditSuite } from '../support/audit-suite.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
const variants: IptablesVariant[] = (['iptables-nft', 'iptables-legacy'] as const).filter((v) => works(v));

for (const variant of variants) {
  auditSuite({
    name: `iptables (${variant})`,
    datapath: (node) => new IptablesDatapath({ iptables: variant, netns: node.name }),
  });
}
