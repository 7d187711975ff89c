/** ClusterNetworkPolicy tiers on real packets through the iptables datapath, for every backend that works here. */
import { spawnSync } from 'node:child_process';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { tiersSuite } from '../support/tiers-suite.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
for (const variant of (['iptables-nft', 'iptables-legacy'] as const).filter((v) => works(v)) as IptablesVariant[]) {
  tiersSuite({
    name: `iptables (${variant})`,
    datapath: (node) => new IptablesDatapath({ iptables: variant, netns: node.name }),
    natIptables: variant,
  });
}
