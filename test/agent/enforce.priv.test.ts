/**
 * The agent's pieces end to end on real packets (root only): the manifest
 * directory source, ClusterState, the reconciler and the iptables datapath
 * inside a harness node namespace (test/support/netns.ts), with interfaces
 * found by NodeInterfaces in that namespace. Creating, changing and deleting
 * a policy file, and relabelling a pod, change enforcement within 1 s; an
 * endpoint removed from its ipset by hand is restored by the periodic resync.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NodeInterfaces } from '../../src/agent/node-interfaces.js';
import { Reconciler } from '../../src/agent/reconciler.js';
import { createCompiler } from '../../src/compiler/compile.js';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { ManifestDirSource } from '../../src/source/manifest-dir.js';
import { ClusterState } from '../../src/state/cluster-state.js';
import { createLogSink } from '../../src/util/log.js';
import { createNode, isRoot, SERVICE_CIDR, type PodNs } from '../support/netns.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
const variant = (['iptables-nft', 'iptables-legacy'] as const).find((v) => works(v)) as IptablesVariant | undefined;
const skip = !isRoot() ? 'needs root: network namespaces' : variant === undefined ? 'no working iptables' : false;

function podYaml(p: PodNs, labels: Record<string, string>): string {
  const [namespace, name] = p.id.split('/');
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
spec: {nodeName: ${p.pod.nodeName ?? 'node-a'}}
status: {phase: Running, podIP: ${p.v4}, podIPs: [{ip: ${p.v4}}, {ip: "${p.v6}"}]}
`;
}

const webPolicy = (from: string | undefined): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: ${from === undefined ? '[]' : `[{from: [{podSelector: {matchLabels: {app: ${from}}}}], ports: [{port: 8080}]}]`}
`;

test(
  'agent loop on real packets: policy create / change / delete and a relabel within 1 s; resync repairs drift',
  { skip },
  async (t) => {
    const node = await createNode({
      topology: 'routed',
      pods: [
        { id: 'shop/web', labels: { app: 'web' } },
        { id: 'shop/client', labels: { app: 'client' } },
      ],
      ...(variant === undefined ? {} : { natIptables: variant }),
    });
    const cleanups: (() => Promise<unknown>)[] = [() => node.destroy()];
    // One hook, last registered cleanup first: the datapath before its namespace.
    t.after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-enforce-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const web = node.pod('shop/web');
    const client = node.pod('shop/client');
    await writeFile(path.join(dir, 'web.yaml'), podYaml(web, { app: 'web' }));
    await writeFile(path.join(dir, 'client.yaml'), podYaml(client, { app: 'client' }));
    await web.agent.listen('tcp', 8080);

    const datapath = new IptablesDatapath({
      ...(variant === undefined ? {} : { iptables: variant }),
      netns: node.name,
    });
    const interfaces = new NodeInterfaces({ netns: node.name });
    const compiler = createCompiler();
    const sink = createLogSink('warn');
    const reconciler = new Reconciler({
      source: new ManifestDirSource({ dir, debounceMs: 20 }),
      state: new ClusterState(),
      datapath,
      compile: (s, n) => compiler.compile(s, n),
      nodeName: 'node-a',
      nodeContext: async (model) => ({
        hostAddresses: node.hostAddresses,
        interfaces: interfaces.forEndpoints(model, await interfaces.scan()),
        serviceCidrs: [SERVICE_CIDR],
      }),
      log: sink.log,
      debounceMs: 50,
      syncPeriodMs: 700,
    });
    cleanups.push(async () => {
      await reconciler.stop();
      await datapath.cleanup();
    });
    await reconciler.start();
    const probe = () => client.agent.tcp(web.v4, 8080, { timeoutMs: 150 });
    /** Polls until the probe gives `want`; returns how long after `since` that was. */
    const reaches = async (want: boolean, since: number): Promise<number> => {
      while (Date.now() - since < 1000) {
        if ((await probe()) === want) return Date.now() - since;
      }
      assert.fail(`client → web:8080 still ${want ? 'denied' : 'allowed'} 1 s after the change`);
    };

    await waitProgrammed(reconciler);
    assert.deepEqual(
      Object.fromEntries(interfaces.forEndpoints({ endpoints: [{ pod: web.id, ips: [web.v4] }] as never })),
      { [web.id]: web.hostIface },
      'the host-side veth found through the /32 route',
    );
    assert.equal(await probe(), true, 'no policy: allowed');

    const steps: [string, () => Promise<void>, boolean][] = [
      ['deny-all created', () => writeFile(path.join(dir, 'policy.yaml'), webPolicy(undefined)), false],
      ['allow from client', () => writeFile(path.join(dir, 'policy.yaml'), webPolicy('client')), true],
      ['client relabelled', () => writeFile(path.join(dir, 'client.yaml'), podYaml(client, { app: 'other' })), false],
      ['policy deleted', () => unlink(path.join(dir, 'policy.yaml')), true],
    ];
    const latencies: string[] = [];
    for (const [name, change, want] of steps) {
      const at = Date.now();
      await change();
      latencies.push(`${name} ${await reaches(want, at)} ms`);
    }
    t.diagnostic(`change → enforced: ${latencies.join(', ')}`);

    // Drift: an isolated endpoint removed from its set by hand is restored by the periodic resync.
    await writeFile(path.join(dir, 'policy.yaml'), webPolicy(undefined));
    await reaches(false, Date.now());
    const sets = (await node.exec('ipset', ['list', '-n']))
      .split('\n')
      .filter((n) => n.startsWith('sluice-ingress-iso-v4'));
    for (const set of sets) await node.exec('ipset', ['-exist', 'del', set, web.v4]);
    assert.equal(await probe(), true, 'hand-made drift opens the pod');
    const drifted = Date.now();
    while ((await probe()) && Date.now() - drifted < 3000);
    assert.equal(await probe(), false, 'the resync restored isolation');
    t.diagnostic(`drift repaired after ${Date.now() - drifted} ms (sync period 700 ms)`);
    assert.deepEqual(
      sink.lines.filter((l) => l.level === 'error'),
      [],
    );
  },
);

async function waitProgrammed(r: Reconciler): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!r.status().programmed) {
    if (Date.now() > deadline) throw new Error(`not programmed: ${String(r.status().lastError)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}
