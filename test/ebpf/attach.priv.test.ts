/**
 * Attaching sluice_from_pod / sluice_to_pod to a throwaway veth pair
 * (sl<pid>/slp<pid>, deleted afterwards): clsact filters and tcx links.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { closeFd } from '../../src/datapath/ebpf/libbpf.js';
import { tcAttach, tcDetach, tcHookCreate, tcHookDestroy, tcxAttach } from '../../src/datapath/ebpf/tc.js';
import { BpfError } from '../../src/util/errors.js';
import { Fixture } from './fixture.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: creates a veth pair and attaches tc programs';

let seq = 0;
function veth(t: { after(fn: () => void): void }): { name: string; ifindex: number } {
  const name = `sl${process.pid % 100000}x${seq++}`;
  execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  t.after(() => execFileSync('ip', ['link', 'del', name]));
  return { name, ifindex: Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim()) };
}

function tcFilters(dev: string, point: 'ingress' | 'egress'): string {
  return execFileSync('tc', ['filter', 'show', 'dev', dev, point], { encoding: 'utf8' });
}

test('clsact: attach both programs, detach, destroy', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  const dev = veth(t);
  assert.equal(tcHookCreate(dev.ifindex, dev.name), true);
  assert.equal(tcHookCreate(dev.ifindex, dev.name), false, 'second create sees EEXIST');
  const from = tcAttach(dev.ifindex, dev.name, 'ingress', fx.fromPod);
  const to = tcAttach(dev.ifindex, dev.name, 'egress', fx.toPod);
  assert.ok(from.progId > 0 && to.progId > 0);
  assert.match(tcFilters(dev.name, 'ingress'), /sluice_from_pod.*direct-action/);
  assert.match(tcFilters(dev.name, 'egress'), /sluice_to_pod.*direct-action/);
  tcAttach(dev.ifindex, dev.name, 'ingress', fx.fromPod, { replace: true });
  assert.equal(tcDetach(dev.ifindex, dev.name, 'ingress', from), true);
  assert.equal(tcDetach(dev.ifindex, dev.name, 'ingress', from), false, 'already gone');
  assert.doesNotMatch(tcFilters(dev.name, 'ingress'), /sluice_from_pod/);
  tcHookDestroy(dev.ifindex, dev.name);
  assert.equal(tcFilters(dev.name, 'egress').trim(), '');
});

/** BPF_LINK_TYPE_TCX links in the system (bpftool 7.1 prints the type as a number). */
function tcxLinks(): number {
  const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
    type: unknown;
  }[];
  return links.filter((l) => l.type === 11 || l.type === 'tcx').length;
}

test('tcx: links attach and detach on close', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  const dev = veth(t);
  const before = tcxLinks();
  const links = [
    tcxAttach(dev.ifindex, dev.name, 'ingress', fx.fromPod),
    tcxAttach(dev.ifindex, dev.name, 'egress', fx.toPod),
  ];
  t.after(() => links.forEach(closeFd));
  assert.equal(tcxLinks(), before + 2);
  links.splice(0).forEach(closeFd);
  assert.equal(tcxLinks(), before);
});

test('attach errors name the interface', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  assert.throws(
    () => tcAttach(999999, 'nosuchdev', 'ingress', fx.fromPod),
    (err: unknown) => err instanceof BpfError && /tc attach ingress \(nosuchdev\)/.test(err.message),
  );
});
