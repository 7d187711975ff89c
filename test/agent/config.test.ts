/** Agent configuration: durations, flag defaults and env equivalents, and the datapath factory. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatapath, loadBackend } from '../../src/agent/datapath-factory.js';
import { parseDuration } from '../../src/agent/duration.js';
import { agentCommand, readAgentConfig } from '../../src/agent/flags.js';
import { parseFlags } from '../../src/cli/flags.js';
import { SluiceError, UsageError } from '../../src/util/errors.js';

const durations: { text: string; want: number | 'error' }[] = [
  { text: '100ms', want: 100 },
  { text: '30s', want: 30_000 },
  { text: '5m', want: 300_000 },
  { text: '1h', want: 3_600_000 },
  { text: '1m30s', want: 90_000 },
  { text: '1.5s', want: 1500 },
  { text: '0', want: 0 },
  { text: '100', want: 'error' },
  { text: '', want: 'error' },
  { text: '5 m', want: 'error' },
  { text: '5d', want: 'error' },
];
for (const c of durations) {
  test(`parseDuration '${c.text}' → ${c.want}`, () => {
    if (c.want === 'error') assert.throws(() => parseDuration(c.text, 'debounce'), UsageError);
    else assert.equal(parseDuration(c.text, 'debounce'), c.want);
  });
}

test('readAgentConfig: defaults', () => {
  const config = readAgentConfig(parseFlags(agentCommand, ['--node-name', 'n1'], {}).values);
  assert.deepEqual(
    { ...config },
    {
      nodeName: 'n1',
      manifests: undefined,
      kubeconfig: undefined,
      datapath: 'auto',
      enforcement: 'policy',
      debounceMs: 100,
      idleGcMs: 2000,
      smallHeap: true,
      syncPeriodMs: 300_000,
      cacheSyncTimeoutMs: 60_000,
      healthPort: 9101,
      healthAddr: '0.0.0.0',
      metricsPort: 9102,
      metricsAddr: '0.0.0.0',
      logLevel: 'info',
      cleanupOnExit: false,
      logDenied: true,
      serviceCidrs: [],
      hostAddresses: undefined,
      uplinks: undefined,
      ctEntries: undefined,
      pinRoot: '/sys/fs/bpf/sluice',
      bpfObject: undefined,
      conntrack: 'auto',
    },
  );
});

test('readAgentConfig: environment variables stand in for flags; flags win', () => {
  const env = {
    NODE_NAME: 'from-env',
    KUBECONFIG: '/etc/kube.conf',
    SLUICE_DATAPATH: 'iptables',
    SLUICE_SYNC_PERIOD: '1m',
    SLUICE_SERVICE_CIDRS: '10.96.0.0/12,fd00:96::/108',
    SLUICE_CLEANUP_ON_EXIT: 'true',
    SLUICE_CT_ENTRIES: '65536',
    SLUICE_ENFORCEMENT: 'audit',
  };
  const config = readAgentConfig(parseFlags(agentCommand, ['--datapath', 'ebpf'], env).values);
  assert.equal(config.nodeName, 'from-env');
  assert.equal(config.kubeconfig, '/etc/kube.conf');
  assert.equal(config.datapath, 'ebpf');
  assert.equal(config.syncPeriodMs, 60_000);
  assert.deepEqual(config.serviceCidrs, ['10.96.0.0/12', 'fd00:96::/108']);
  assert.equal(config.cleanupOnExit, true);
  assert.equal(config.ctEntries, 65536);
  assert.equal(config.enforcement, 'audit');
});

test('readAgentConfig: --enforcement takes policy or audit only', () => {
  assert.throws(() => parseFlags(agentCommand, ['--enforcement', 'enforce'], {}), /enforcement/);
});

test('readAgentConfig: the node name defaults to the hostname', async () => {
  const os = await import('node:os');
  assert.equal(readAgentConfig(parseFlags(agentCommand, [], {}).values).nodeName, os.hostname());
});

test('createDatapath: explicit kind, and auto through the chooser', async () => {
  const iptables = await createDatapath('iptables', { netns: 'none' });
  assert.equal(iptables.kind, 'iptables');
  let asked = 0;
  const chosen = await createDatapath('auto', {}, async () => {
    asked++;
    return 'iptables';
  });
  assert.equal(chosen.kind, 'iptables');
  assert.equal(asked, 1);
  const ebpf = await createDatapath('ebpf', { pinRoot: '/sys/fs/bpf/sluice-test-unused' });
  assert.equal(ebpf.kind, 'ebpf');
  await ebpf.close();
});

test('loadBackend: a missing backend module is a clear error', async () => {
  await assert.rejects(loadBackend('ebpf', '../datapath/ebpf/missing.js', 'EbpfDatapath'), (err: unknown) => {
    assert.ok(err instanceof SluiceError);
    assert.match(err.message, /the ebpf datapath is not available in this build \(\.\.\/datapath\/ebpf\/missing\.js\)/);
    return true;
  });
  await assert.rejects(loadBackend('x', '../agent/duration.js', 'Nope'), /does not export class Nope/);
});
