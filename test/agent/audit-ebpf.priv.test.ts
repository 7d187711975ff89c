/**
 * Audit mode through `sluice agent` as a process (eBPF datapath, manifest
 * directory, root only): a default-deny annotated `sluice.io/enforcement:
 * audit` lets traffic through, logs each would-deny with pod names (the
 * agent's --log-denied) and counts it in sluice_policy_would_deny_total;
 * removing the annotation enforces the same policy within 1 s, the open
 * connection included, with no restart. `--enforcement audit` audits every
 * policy of the node.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { run } from '../support/netns.js';
import { AgentProcess, ebpfSkip } from './agent-in-netns.js';
import { annotatedWebPolicy, webPolicy } from './manifests.js';
import { shopNode, type ShopNode } from './shop-node.js';

const skip = ebpfSkip();
const COUNTER = /^sluice_policy_would_deny_total\{namespace="shop",policy="web-in"\} (\d+)$/m;

/** The agent's metrics port inside the node namespace (its own port space). */
const METRICS = ['--metrics-port', '9102', '--metrics-addr', '127.0.0.1'];

/** GET /metrics of the agent, from inside the node namespace (the port is the one it logged). */
async function wouldDenyCount(f: ShopNode, agent: AgentProcess): Promise<number | undefined> {
  const serving = agent.lines.find(
    (l) => l.msg === 'serving HTTP' && ((l['paths'] as string[] | undefined)?.includes('/metrics') ?? false),
  );
  const port = Number(serving?.['port']);
  assert.ok(port > 0, 'metrics port logged');
  const script = `fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const text = await run('ip', ['netns', 'exec', f.node.name, process.execPath, '-e', script]);
  const m = COUNTER.exec(text);
  return m === null ? undefined : Number(m[1]);
}

const probe = (f: ShopNode): Promise<boolean> => f.client.agent.tcp(f.web.v4, 8080, { timeoutMs: 150 });

async function reaches(f: ShopNode, want: boolean, since: number, limitMs: number, what: string): Promise<number> {
  while (Date.now() - since < limitMs) if ((await probe(f)) === want) return Date.now() - since;
  return assert.fail(`client → web:8080 still ${want ? 'denied' : 'allowed'} ${limitMs} ms after ${what}`);
}

test(
  'agent, eBPF: an audited default-deny reports and counts, then enforces once the annotation goes',
  { skip },
  async (t) => {
    const f = await shopNode(t, 'audit');
    const file = path.join(f.dir, 'policy.yaml');
    await writeFile(file, annotatedWebPolicy('audit'));
    const agent = AgentProcess.start({ netns: f.node.name, dir: f.dir, pinRoot: f.pinRoot, extra: METRICS });
    t.after(() => agent.stop('SIGKILL'));
    await agent.synced(0);

    const open = await f.client.agent.open(f.web.v4, 8080);
    assert.ok(open !== undefined, 'audited: a connection opens');
    for (let i = 0; i < 3; i++) assert.equal(await probe(f), true, 'audited: new connections pass');
    const logged = await agent.waitFor(
      (l) => l.msg === 'would deny (audit)' && l['pod'] === 'shop/web' && l['peerPod'] === 'shop/client',
      0,
      3000,
      'would-deny log line',
    );
    assert.deepEqual([logged['direction'], logged['port'], logged['isolatedBy']], ['ingress', 8080, ['shop/web-in']]);
    const counted = (await wouldDenyCount(f, agent)) ?? 0;
    assert.ok(counted >= 4, `sluice_policy_would_deny_total for shop/web-in: ${counted}`);

    const at = Date.now();
    await writeFile(file, webPolicy(undefined));
    const ms = await reaches(f, false, at, 1000, 'the annotation was removed');
    t.diagnostic(`annotation removed → enforced in ${ms} ms`);
    assert.equal(await f.client.agent.send(open), false, 'the open connection is cut');
    assert.equal(
      await wouldDenyCount(f, agent),
      counted,
      'enforced: nothing more counted; the counter never goes down',
    );
    assert.deepEqual(agent.errors(), []);
    assert.equal(await agent.stop(), 0);
  },
);

test('agent, eBPF: --enforcement audit lets an enforced default-deny through and counts it', { skip }, async (t) => {
  const f = await shopNode(t, 'audit-all');
  await writeFile(path.join(f.dir, 'policy.yaml'), webPolicy(undefined));
  const agent = AgentProcess.start({
    netns: f.node.name,
    dir: f.dir,
    pinRoot: f.pinRoot,
    extra: [...METRICS, '--enforcement', 'audit'],
  });
  t.after(() => agent.stop('SIGKILL'));
  await agent.synced(0);
  assert.equal(await probe(f), true, 'audited by the flag: passes');
  assert.ok(((await wouldDenyCount(f, agent)) ?? 0) >= 1, 'counted for shop/web-in');
  assert.ok(
    agent.lines.some((l) => l.msg.startsWith('--enforcement audit')),
    'the agent warns that nothing is denied',
  );
  assert.equal(await agent.stop(), 0);
});
