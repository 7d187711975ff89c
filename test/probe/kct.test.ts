/** The conntrack-kfuncs check reads the kernel's BTF blobs: table-driven over fake ones. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { kernelConntrackCheck } from '../../src/datapath/probe-kct.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-kct-probe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const blob = (name: string, ...names: string[]): string => {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.from(`\0btf\0${names.join('\0')}\0`, 'latin1'));
  return file;
};

const CASES: readonly [string, () => string[], boolean, RegExp][] = [
  ['built in: both kfuncs in vmlinux', () => [blob('v1', 'bpf_skb_ct_lookup', 'bpf_ct_release')], true, /in .*v1/],
  [
    'module: vmlinux lacks them, nf_conntrack has them',
    () => [blob('v2', 'other'), blob('m2', 'bpf_ct_release', 'bpf_skb_ct_lookup')],
    true,
    /in .*m2/,
  ],
  ['one kfunc only', () => [blob('v3', 'bpf_skb_ct_lookup')], false, /not in .*v3.*nf_conntrack not loaded/],
  ['a longer name does not count', () => [blob('v4', 'bpf_skb_ct_lookup_x', 'bpf_ct_release')], false, /not in/],
  ['no BTF at all', () => [path.join(dir, 'missing')], false, /no kernel BTF .*ENOENT/],
];

for (const [name, files, ok, reason] of CASES) {
  test(`conntrack-kfuncs: ${name}`, () => {
    const r = kernelConntrackCheck(files());
    assert.equal(r.ok, ok, r.reason);
    assert.match(r.reason, reason);
  });
}
