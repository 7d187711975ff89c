/**
 * A one-shot agent for datapath.priv.test.ts, run inside the node's network
 * namespace (`nsenter --net=…`, which keeps the mount namespace and so
 * /sys/fs/bpf): reads a request on stdin, compiles the snapshot for node-a,
 * applies it (or cleans up) with a fresh EbpfDatapath, prints the stats as
 * JSON and exits. Every run is thus a restart that adopts the pins.
 */

import { readFileSync } from 'node:fs';

import { compile } from '../../src/compiler/compile.js';
import { EbpfDatapath } from '../../src/datapath/ebpf/ebpf-datapath.js';
import type { ClusterSnapshot } from '../../src/model/k8s.js';

export interface AgentRequest {
  readonly op: 'apply' | 'cleanup';
  readonly pinRoot: string;
  readonly objectPath: string;
  readonly useTcx: boolean | 'auto';
  readonly snapshot?: ClusterSnapshot;
  readonly hostAddresses?: readonly string[];
  readonly interfaces?: readonly (readonly [string, string])[];
  readonly serviceCidrs?: readonly string[];
  readonly uplinks?: readonly string[];
}

const req = JSON.parse(readFileSync(0, 'utf8')) as AgentRequest;
const dp = new EbpfDatapath({
  pinRoot: req.pinRoot,
  objectPath: req.objectPath,
  useTcx: req.useTcx,
  uplinks: req.uplinks ?? [],
});
if (req.op === 'cleanup') {
  await dp.cleanup();
  process.stdout.write('{}\n');
} else {
  const snapshot = req.snapshot ?? { namespaces: [], pods: [], policies: [] };
  const stats = await dp.apply(compile(snapshot, 'node-a'), {
    hostAddresses: req.hostAddresses ?? [],
    interfaces: new Map(req.interfaces ?? []),
    serviceCidrs: req.serviceCidrs ?? [],
  });
  await dp.close();
  process.stdout.write(`${JSON.stringify(stats)}\n`);
}
