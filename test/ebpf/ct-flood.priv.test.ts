/**
 * A connection flood against held connections (root only), on the build the
 * agent's `--conntrack auto` picks here: sluice-kct.bpf.o keeps TCP flows in
 * the kernel's conntrack, so a flood of several times sluice_ct's size does
 * not cost a held connection its state, and the isolated server can still
 * write first on every one of them. bench/ct-flood.ts runs the same at full
 * size beside the table build.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createFloodNet, runFlood } from '../../bench/ct-flood-run.js';
import { isRoot } from '../support/netns.js';
import { ensureObject, KCT_OBJECT } from './btf-dump.js';

const skip = isRoot() ? false : 'needs root: network namespaces, tc programs';

test(
  'kernel conntrack: every held connection survives a flood of 4× the table, and the flood itself passes',
  { skip },
  async () => {
    const node = await createFloodNet();
    try {
      const sizes = { held: 50, flood: 4096, ctEntries: 1024 };
      const r = await runFlood(node, ensureObject(KCT_OBJECT), sizes);
      assert.equal(r.before, sizes.held, 'the server reaches every held connection before the flood');
      assert.equal(r.floodFailed, 0, 'no flood connection is refused');
      assert.equal(r.floodOk, sizes.flood);
      assert.equal(r.after, sizes.held, 'and after it');
    } finally {
      await node.destroy();
    }
  },
);
