/** ClusterNetworkPolicy tiers on real packets through the eBPF datapath (both builds). */
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { trackConnections } from '../support/netns.js';
import { tiersSuite } from '../support/tiers-suite.js';
import { ensureObject, KCT_OBJECT, OBJECT } from './btf-dump.js';

let seq = 0;
for (const run of [
  { label: 'tcx', object: OBJECT, kct: false },
  { label: 'tcx, kernel conntrack', object: KCT_OBJECT, kct: true },
]) {
  tiersSuite({
    name: `ebpf (${run.label})`,
    ...(run.kct ? { prepare: trackConnections } : {}),
    datapath: (node) => {
      const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-tiers-${seq++}`;
      return new EbpfDatapath({
        pinRoot,
        objectPath: ensureObject(run.object),
        useTcx: true,
        netns: node.name,
        uplinks: ['rmt0'],
      });
    },
  });
}
