/**
 * `sluice agent` as a process (eBPF datapath, manifest directory) inside a
 * harness node namespace, on real packets (root only). Every change —
 * policy create / change / delete, pod relabel / delete / create, namespace
 * label added / removed — is enforced within 1 s; hand-made drift (a
 * sluice_endpoints entry deleted, the policy rows deleted, a tcx link
 * detached) is repaired by the next periodic resync (--sync-period 1s).
 * Denied flows show up in the agent's log with pod names (--log-denied).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { run, type NodeNs } from '../support/netns.js';
import { AgentProcess, ebpfSkip } from './agent-in-netns.js';
import { namespaceYaml, podYaml, webPolicy } from './manifests.js';
import { shopNode } from './shop-node.js';

const skip = ebpfSkip();

type Step = readonly [name: string, change: () => Promise<unknown>, allowed: boolean];

/** Hex bytes of every key in a pinned map, as bpftool prints them. */
async function keys(pinRoot: string, map: string): Promise<string[][]> {
  const out = await run('bpftool', ['-j', 'map', 'dump', 'pinned', `${pinRoot}/${map}`]);
  return (JSON.parse(out) as { key: string[] }[]).map((e) => e.key);
}

async function deleteKeys(pinRoot: string, map: string, pick: (key: string[]) => boolean): Promise<number> {
  const picked = (await keys(pinRoot, map)).filter(pick);
  for (const key of picked)
    await run('bpftool', [
      'map',
      'delete',
      'pinned',
      `${pinRoot}/${map}`,
      'key',
      'hex',
      ...key.map((b) => b.replace(/^0x/, '')),
    ]);
  return picked.length;
}

/** An addr key (family 4, 3 pad bytes, 16 address bytes) of this IPv4 address. */
const isV4Key =
  (ip: string) =>
  (key: string[]): boolean =>
    Number(key[0]) === 4 && ip.split('.').every((octet, i) => Number(key[4 + i]) === Number(octet));

test(
  'agent process, eBPF: every change enforced within 1 s; drift repaired at the next resync',
  { skip },
  async (t) => {
    const f = await shopNode(t, 'enforce');
    const agent = AgentProcess.start({
      netns: f.node.name,
      dir: f.dir,
      pinRoot: f.pinRoot,
      extra: ['--sync-period', '1s'],
    });
    t.after(() => agent.stop('SIGKILL'));
    await agent.synced(0);
    const probe = (): Promise<boolean> => f.client.agent.tcp(f.web.v4, 8080, { timeoutMs: 150 });
    const reaches = async (want: boolean, since: number, limitMs: number, what: string): Promise<number> => {
      while (Date.now() - since < limitMs) if ((await probe()) === want) return Date.now() - since;
      return assert.fail(`client → web:8080 still ${want ? 'denied' : 'allowed'} ${limitMs} ms after ${what}`);
    };
    assert.equal(await probe(), true, 'no policy: allowed');

    const file = (name: string): string => path.join(f.dir, name);
    const steps: Step[] = [
      ['deny-all created', () => writeFile(file('policy.yaml'), webPolicy(undefined)), false],
      ['allow from app=client', () => writeFile(file('policy.yaml'), webPolicy({ app: 'client' })), true],
      ['client relabelled', () => writeFile(file('client.yaml'), podYaml(f.client, { app: 'other' })), false],
      ['client label restored', () => writeFile(file('client.yaml'), podYaml(f.client, { app: 'client' })), true],
      [
        'allow from team=blue namespaces',
        () => writeFile(file('policy.yaml'), webPolicy(undefined, { team: 'blue' })),
        false,
      ],
      ['namespace labelled team=blue', () => writeFile(file('ns.yaml'), namespaceYaml('shop', { team: 'blue' })), true],
      ['namespace label removed', () => writeFile(file('ns.yaml'), namespaceYaml('shop', {})), false],
      ['web pod deleted', () => unlink(file('web.yaml')), true],
      ['web pod created', () => writeFile(file('web.yaml'), podYaml(f.web, { app: 'web' })), false],
      ['policy deleted', () => unlink(file('policy.yaml')), true],
    ];
    const latencies: string[] = [];
    for (const [name, change, want] of steps) {
      const at = Date.now();
      await change();
      latencies.push(`${name} ${await reaches(want, at, 1000, name)} ms`);
    }
    t.diagnostic(`change → enforced: ${latencies.join(', ')}`);

    // [name, change, allowed afterwards, hand-made drift repaired by the resync]
    const drift: (readonly [string, () => Promise<unknown>, boolean, boolean])[] = [
      ['deny-all', () => writeFile(file('policy.yaml'), webPolicy(undefined)), false, false],
      ['web endpoint entry deleted', () => deleteKeys(f.pinRoot, 'sluice_endpoints', isV4Key(f.web.v4)), true, true],
      ['allow from app=client', () => writeFile(file('policy.yaml'), webPolicy({ app: 'client' })), true, false],
      [
        'policy rows deleted (sluice_policy and sluice_policy_ports)',
        async () =>
          (await deleteKeys(f.pinRoot, 'sluice_policy', () => true)) +
          (await deleteKeys(f.pinRoot, 'sluice_policy_ports', () => true)),
        false,
        true,
      ],
      ['deny-all', () => writeFile(file('policy.yaml'), webPolicy(undefined)), false, false],
      ['link toward web detached', () => detachToPod(f.node, f.pinRoot, f.web.hostIface), true, true],
    ];
    const repairs: string[] = [];
    for (const [name, change, want, byHand] of drift) {
      const at = Date.now();
      await change();
      if (!byHand) {
        await reaches(want, at, 1000, name);
        continue;
      }
      assert.equal(await probe(), want, `${name}: the drift shows`);
      repairs.push(`${name} ${await reaches(!want, at, 3000, name)} ms`);
    }
    t.diagnostic(`drift repaired after: ${repairs.join(', ')} (sync period 1 s)`);
    const denied = agent.lines.filter((l) => l.msg === 'denied' && l['peerPod'] === 'shop/client');
    assert.ok(
      denied.some((l) => l['pod'] === 'shop/web' && l['direction'] === 'ingress' && l['port'] === 8080),
      'denied flows logged with pod names, direction and port (--log-denied)',
    );
    assert.deepEqual(agent.errors(), []);
    assert.equal(await agent.stop(), 0, 'SIGTERM: exit 0');
  },
);

/** Detaches sluice's program on the host veth's egress (toward the pod): the tcx link, or the clsact filter. */
async function detachToPod(node: NodeNs, pinRoot: string, iface: string): Promise<void> {
  const link = `${pinRoot}/links/${iface}-egress`;
  if (existsSync(link)) await run('bpftool', ['link', 'detach', 'pinned', link]);
  else await node.exec('tc', ['filter', 'del', 'dev', iface, 'egress']);
}

/** shop/client-out: isolates app=client for egress; allows TCP/80 to `cidr` (none: deny all egress). */
const clientEgress = (cidr: string | undefined): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress: ${cidr === undefined ? '[]' : `[{to: [{ipBlock: {cidr: ${cidr}}}], ports: [{port: 80}]}]`}
`;

test(
  'agent process, eBPF: egress to a ClusterIP whose backend is on another node is judged at the uplink',
  { skip },
  async (t) => {
    const f = await shopNode(t, 'enforce');
    const vip = '10.96.0.20';
    await f.node.remote.agent.listen('tcp', 80);
    await f.node.addService(vip, 80, f.node.remote.v4, 80);
    const file = path.join(f.dir, 'client-out.yaml');
    await writeFile(file, clientEgress(undefined));
    const agent = AgentProcess.start({
      netns: f.node.name,
      dir: f.dir,
      pinRoot: f.pinRoot,
      extra: ['--service-cidr', '10.96.0.0/16'],
    });
    t.after(() => agent.stop('SIGKILL'));
    await agent.synced(0);
    const uplinks = agent.lines.find((l) => l.msg.startsWith('uplinks'))?.['uplinks'];
    assert.ok(Array.isArray(uplinks) && uplinks.includes('rmt0'), `uplinks found in the routes: ${String(uplinks)}`);
    const probe = (): Promise<boolean> => f.client.agent.tcp(vip, 80, { timeoutMs: 300 });
    assert.equal(await probe(), false, 'denied: the backend behind rmt0 is not allowed');
    await writeFile(file, clientEgress(`${f.node.remote.v4}/32`));
    const at = Date.now();
    while (!(await probe())) assert.ok(Date.now() - at < 1000, 'allowed within 1 s of the policy change');
    await writeFile(file, clientEgress('10.100.201.0/24'));
    const again = Date.now();
    while (await probe()) assert.ok(Date.now() - again < 1000, 'denied again within 1 s');
    assert.deepEqual(agent.errors(), []);
  },
);
