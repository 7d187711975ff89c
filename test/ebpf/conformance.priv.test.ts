/**
 * The eBPF datapath on real packets (root only): the shared conformance
 * suite (test/support/conformance.ts), with tcx links and with clsact
 * filters, in both topologies. The node's rmt0 link is the uplink, so
 * ClusterIP egress to a remote backend is judged there too.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import { conformanceSuite } from '../support/conformance.js';
import type { NodeNs } from '../support/netns.js';
import { ensureObject, KCT_OBJECT, OBJECT } from './btf-dump.js';

let seq = 0;
const pinRoots = new Map<string, string>();

async function verifyClean(node: NodeNs): Promise<void> {
  const pinRoot = pinRoots.get(node.name);
  assert.ok(pinRoot !== undefined);
  assert.equal(existsSync(pinRoot), false, `${pinRoot} still exists`);
  assert.doesNotMatch(await node.exec('tc', ['qdisc', 'show']), /clsact/, 'clsact qdisc left behind');
  for (const iface of [...node.nodeContext.interfaces.values(), 'rmt0']) {
    for (const point of ['ingress', 'egress']) {
      const filters = await node.exec('tc', ['filter', 'show', 'dev', iface, point]);
      assert.doesNotMatch(filters, /sluice/, `${iface} ${point}`);
    }
  }
  // tcx links are not listed per device by bpftool 7.1: the default-deny flow passing proves them gone.
  assert.equal(await node.pod('x/a').agent.tcp(node.pod('x/b').v4, 80), true, 'b no longer isolated');
}

const RUNS = [
  { label: 'tcx', useTcx: true, object: OBJECT },
  { label: 'clsact', useTcx: false, object: OBJECT },
  { label: 'tcx, kernel conntrack', useTcx: true, object: KCT_OBJECT },
];
for (const run of RUNS) {
  conformanceSuite({
    name: `ebpf (${run.label})`,
    datapath: (node) => {
      const pinRoot = `/sys/fs/bpf/sluice-test-${process.pid}-conf-${seq++}`;
      pinRoots.set(node.name, pinRoot);
      const objectPath = ensureObject(run.object);
      return new EbpfDatapath({ pinRoot, objectPath, useTcx: run.useTcx, netns: node.name, uplinks: ['rmt0'] });
    },
    verifyClean,
  });
}
