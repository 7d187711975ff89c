/**
 * The loaded object as the kernel sees it: its BTF is accepted, so every
 * pinned map carries key/value types and `bpftool map dump` prints them
 * (DESIGN.md: typed dumps, names for ids in sluice_names).
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { MAPS } from '../../src/datapath/ebpf/layout.js';
import { Fixture } from './fixture.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: loads BPF programs and pins maps';

test('the kernel accepts the BTF: every pinned map has typed keys and values', { skip }, (t) => {
  const fx = new Fixture();
  t.after(() => fx.dispose());
  // The ring buffer has no key or value type.
  for (const spec of Object.values(MAPS).filter((m) => m.key !== undefined)) {
    const info = JSON.parse(
      execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', `${fx.dir}/${spec.name}`], { encoding: 'utf8' }),
    ) as { btf_id?: number };
    assert.ok((info.btf_id ?? 0) > 0, `${spec.name} has no BTF`);
  }
});
