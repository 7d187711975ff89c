/**
 * Runs in a private mount namespace where /sys/fs/bpf is not mounted
 * (spawned by bpffs.priv.test.ts). Reports: whether bpffs was mounted at
 * the start, `sluice probe --output json`, and whether bpffs is mounted
 * after the agent's start-up check for `--datapath ebpf` (requireDatapath).
 */
import { isBpffs } from '../../src/datapath/probe-ebpf.js';
import { requireDatapath } from '../../src/datapath/probe-select.js';
import { runCli } from '../cli/run-cli.js';

const before = isBpffs('/sys/fs/bpf');
const probe = await runCli(['probe', '--output', 'json']);
await requireDatapath('ebpf', { bpffs: '/sys/fs/bpf', objectPath: 'build/bpf/sluice.bpf.o' });
const result = { before, code: probe.code, report: JSON.parse(probe.stdout) as unknown, after: isBpffs('/sys/fs/bpf') };
process.stdout.write(`${JSON.stringify(result)}\n`);
