/**
 * bpffs not mounted but mountable: the probe says so and still loads the
 * object (under a bpffs it mounts on a temporary directory and removes),
 * `auto` keeps eBPF, and the agent's start-up check mounts /sys/fs/bpf.
 * Runs in a private mount namespace (`unshare --mount`) in which
 * /sys/fs/bpf is unmounted; the host's mount is never touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ProbeReport } from '../../src/datapath/probe.js';
import { isRoot } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./bpffs-child.ts', import.meta.url));
const skip = isRoot() ? false : 'needs root: mount namespaces, bpffs, BPF maps';

test(
  'bpffs not mounted: probe passes it as mountable, loads the object, picks ebpf; the agent mounts it',
  { skip },
  () => {
    const script = `umount /sys/fs/bpf 2>/dev/null; exec ${process.execPath} --import tsx ${CHILD}`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { before: boolean; code: number; report: ProbeReport; after: boolean };
    assert.equal(out.before, false, 'bpffs unmounted in the private mount namespace');
    const bpffs = out.report.checks.find((c) => c.name === 'bpffs');
    assert.equal(bpffs?.ok, true);
    assert.match(bpffs?.reason ?? '', /not mounted at \/sys\/fs\/bpf; mountable/);
    assert.equal(out.report.checks.find((c) => c.name === 'prog-load')?.ok, true);
    assert.equal(out.report.choice.datapath, 'ebpf');
    assert.equal(out.code, 0);
    assert.equal(out.after, true, 'mounted by the start-up check');
  },
);
