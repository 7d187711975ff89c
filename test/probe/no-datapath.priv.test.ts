/**
 * Nothing can run: bpf() denied (user namespace) and iptables broken (a
 * failing `iptables`/`ip6tables` first on PATH). `sluice probe` exits 3
 * with `"datapath": null`, and the agent on auto refuses to start, naming
 * the failed checks of both datapaths. Everything runs in throwaway
 * namespaces (`unshare --user --map-root-user --net`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../support/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'test/agent/sluice-cli.ts');
const USERNS = ['--user', '--map-root-user', '--net'];

function skipReason(): string | false {
  if (!isRoot()) return 'needs root: namespaces';
  const r = spawnSync('unshare', [...USERNS, 'true'], { encoding: 'utf8' });
  return r.status === 0 ? false : `user namespaces unavailable here: ${r.stderr.trim()}`;
}

test(
  'no datapath can run: probe exits 3 with datapath null; agent on auto refuses to start',
  { skip: skipReason() },
  (t) => {
    const fake = mkdtempSync(path.join(tmpdir(), 'sluice-no-iptables-'));
    t.after(() => rmSync(fake, { recursive: true, force: true }));
    for (const tool of ['iptables', 'ip6tables']) {
      writeFileSync(path.join(fake, tool), `#!/bin/sh\necho "${tool}: broken on purpose" >&2\nexit 1\n`);
      chmodSync(path.join(fake, tool), 0o755);
    }
    const node = `${process.execPath} --import tsx ${CLI}`;
    const script = [
      `export PATH=${fake}:$PATH`,
      `${node} probe --output json`,
      'echo "@probe=$?"',
      `${node} agent --datapath auto --manifests ${fake} --health-port 0 --metrics-port 0 >/dev/null 2>${fake}/agent.err`,
      'echo "@agent=$?"',
      `echo "@stderr=$(cat ${fake}/agent.err)"`,
    ].join('; ');
    const r = spawnSync('unshare', [...USERNS, 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 40_000 });
    const [json, ...tail] = r.stdout.split('\n@');
    const report = JSON.parse(json ?? '') as { choice: { datapath: unknown; reason: string } };
    assert.equal(report.choice.datapath, null);
    assert.match(
      report.choice.reason,
      /eBPF cannot run: bpf-syscall.*EPERM.*iptables cannot run: iptables, .*broken on purpose/,
    );
    assert.match(tail.join('\n'), /^probe=3$/m);
    const agentLine = tail.find((l) => l.includes('no datapath can run')) ?? '';
    assert.match(agentLine, /--datapath auto: no datapath can run here: eBPF cannot run: bpf-syscall/);
    assert.match(tail.join('\n'), /^agent=1$/m, 'the agent exits non-zero');
  },
);
