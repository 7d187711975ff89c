/**
 * A connection flood against established connections, for each flow-state
 * design of the eBPF datapath: sluice.bpf.o (its own LRU connection table)
 * and sluice-kct.bpf.o (the kernel's conntrack, bpf/lib/kct.h).
 *
 * The server pod default/server is isolated both ways: its ingress allows
 * the remote node's subnet on TCP/7000, its egress allows nothing, so every packet it
 * sends is allowed only as a reply of a tracked flow. The remote pod holds
 * HELD idle connections to it, then opens and closes FLOOD more (several
 * times what the LRU table holds, --ct-entries), and then the server writes
 * first on every held connection (server push, as a database notification
 * or a websocket does). A held connection whose flow the table evicted has
 * its push judged as a new egress flow of the server, and denied. The node
 * tracks connections as kube-proxy makes it (bench/ab-concurrent-net.ts).
 *
 * Prints, per design, how many held connections got their push before and
 * after the flood. Prints numbers; no pass/fail. Needs root.
 * Run: node --import tsx bench/ct-flood.ts [--quick] [--held N] [--ct-entries N] [--flood N] [--reverse]
 * (--reverse: the kernel conntrack design first.)
 */
import { fileURLToPath } from 'node:url';

import type { NodeNs } from '../test/support/netns.js';
import { createFloodNet, runFlood } from './ct-flood-run.js';
import { intFlag, withBenchNet } from './slices-cli.js';

const QUICK = process.argv.includes('--quick');
const CT_ENTRIES = intFlag('--ct-entries', QUICK ? 4_096 : 65_536);
const HELD = intFlag('--held', 200);
const FLOOD = intFlag('--flood', 2 * CT_ENTRIES);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const DESIGNS = [
  { label: 'sluice eBPF, own connection table', object: `${REPO}build/bpf/sluice.bpf.o` },
  { label: 'sluice eBPF, kernel conntrack', object: `${REPO}build/bpf/sluice-kct.bpf.o` },
] as const;

/** Each design on a node of its own, so that neither inherits the other's conntrack entries. */
const nodes = new Set<NodeNs>();
await withBenchNet(
  'bench/ct-flood.ts',
  () => Promise.resolve({ close: async () => void (await Promise.all([...nodes].map((n) => n.destroy()))) }),
  async () => {
    console.log(
      `connection flood: sluice_ct holds ${CT_ENTRIES.toLocaleString('en-US')} flows (--ct-entries); ` +
        `${HELD} idle held connections, then ${FLOOD.toLocaleString('en-US')} new ones, 64 at a time from 8 addresses`,
    );
    const order = process.argv.includes('--reverse') ? [...DESIGNS].reverse() : DESIGNS;
    for (const design of order) {
      const node = await createFloodNet();
      nodes.add(node);
      try {
        const r = await runFlood(node, design.object, { held: HELD, flood: FLOOD, ctEntries: CT_ENTRIES });
        console.log(
          `${design.label}: held ${HELD}; push before the flood reached ${r.before}/${HELD}; ` +
            `flood of ${FLOOD.toLocaleString('en-US')} connections (${r.floodOk} ok, ${r.floodFailed} failed, ` +
            `${r.seconds.toFixed(1)} s); push after the flood reached ${r.after}/${HELD}`,
        );
      } finally {
        nodes.delete(node);
        await node.destroy();
      }
    }
  },
);
