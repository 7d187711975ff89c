/**
 * Where the probe cannot make its temporary network namespace (an agent pod
 * without CAP_SYS_ADMIN), the iptables checks run in the current namespace
 * under names of their own and remove them; the attach checks are not tried.
 * Simulated with an `unshare` on PATH that fails, the whole run inside a
 * throwaway namespace of the test's own (the real unshare, by path).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ProbeReport } from '../../src/datapath/probe.js';
import { isRoot } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'test/agent/sluice-cli.ts');
const REAL_UNSHARE = spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();
const skip = !isRoot()
  ? 'needs root: creates chains and sets (in a throwaway network namespace)'
  : REAL_UNSHARE === ''
    ? 'unshare (util-linux) not found'
    : false;

test(
  'no temporary netns: iptables checks run here under their own names, leave nothing; attach not tried',
  { skip },
  (t) => {
    const fake = mkdtempSync(path.join(tmpdir(), 'sluice-fake-unshare-'));
    t.after(() => rmSync(fake, { recursive: true, force: true }));
    writeFileSync(
      path.join(fake, 'unshare'),
      '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n',
    );
    chmodSync(path.join(fake, 'unshare'), 0o755);
    const script = [
      `PATH=${fake}:$PATH ${process.execPath} --import tsx ${CLI} probe --output json`,
      'echo "@rc=$?"',
      'echo "@chains=$(iptables-save -t filter | grep -c PROBE)"',
      'echo "@sets=$(ipset list -n | grep -c probe)"',
    ].join('; ');
    const r = spawnSync(REAL_UNSHARE, ['--net', 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    const [json, ...tail] = r.stdout.split('\n@');
    const facts = Object.fromEntries(tail.map((l) => l.trim().split('=') as [string, string]));
    assert.equal(facts['rc'], '0', r.stderr);
    const report = JSON.parse(json ?? '') as ProbeReport;
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    for (const name of ['iptables', 'ipset hash:ip', 'conntrack-match', 'set-match']) {
      assert.equal(byName.get(name)?.ok, true, name);
      assert.match(byName.get(name)?.reason ?? '', /in this network namespace; no temporary network namespace/);
    }
    assert.match(byName.get('tc-clsact')?.reason ?? '', /^not tried: no temporary network namespace/);
    assert.equal(report.choice.datapath, 'iptables');
    assert.equal(facts['chains'], '0', 'no SLUICE-PROBE chain left');
    assert.equal(facts['sets'], '0', 'no sluice-probe set left');
  },
);
