/**
 * Cyclonus with real packets (root only): the lab sample of its generated
 * cases (sample.ts: every tag, at least 40 cases), every step replayed on a
 * `sluice lab` of each datapath (lab-replay.ts), every TCP and UDP cell
 * measured and compared with Cyclonus's expectation (after the overrides of
 * quirks.ts). SCTP cells are not probed and are counted as such. The two
 * datapaths' labs run at the same time, under names unique to this run
 * (`sl-cyc-<pid>-<datapath>`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { DatapathKind } from '../../src/datapath/types.js';
import { cyclonusSkip, loadCyclonusCases, type CyclonusCases } from './cases.js';
import { netnsWith } from '../lab/leftovers.js';
import { describeMismatch, replay } from './lab-replay.js';
import { missingTags, sampleCases, SAMPLE_SIZE } from './sample.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const works = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const rootSkip = process.getuid?.() !== 0 ? 'needs root: network namespaces, BPF and netfilter' : false;
const baseSkip = rootSkip || cyclonusSkip();
const SKIPS: Readonly<Record<DatapathKind, string | false>> = {
  ebpf: baseSkip || (existsSync(path.join(root, 'build/bpf/sluice.bpf.o')) ? false : 'needs npm run build:bpf'),
  iptables: baseSkip || (works('iptables', ['-V']) ? false : 'needs a working iptables'),
};

let loaded: CyclonusCases | undefined;
const cyclonus = (): CyclonusCases => (loaded ??= loadCyclonusCases());

describe('Cyclonus lab replay', { concurrency: true }, () => {
  for (const datapath of ['ebpf', 'iptables'] as const) {
    test(
      `${datapath}: every TCP and UDP cell of the sample as Cyclonus expects`,
      { skip: SKIPS[datapath] },
      async (t) => {
        const doc = cyclonus();
        const sample = sampleCases(doc.cases);
        assert.ok(sample.length >= SAMPLE_SIZE, `only ${sample.length} cases in the sample`);
        assert.deepEqual(missingTags(doc.cases, sample), [], 'tags no sampled case carries');
        const name = `sl-cyc-${process.pid}-${datapath}`;
        const r = await replay(name, datapath, sample);
        t.diagnostic(
          `Cyclonus ${doc.cyclonus} lab ${datapath}: ${r.cases} cases, ${r.steps} steps, ${r.probed} cells probed ` +
            `(TCP/UDP), ${r.sctp} SCTP cells not probed, ${r.mismatches.length} differ, ${r.seconds.toFixed(0)} s`,
        );
        assert.deepEqual(netnsWith(`${name}-`), [], 'network namespaces left behind');
        assert.equal(existsSync(`/sys/fs/bpf/${name}`), false, 'bpffs pins left behind');
        assert.ok(r.probed > 10_000, `only ${r.probed} cells probed`);
        assert.deepEqual(r.mismatches.slice(0, 20).map(describeMismatch), [], `${r.mismatches.length} cells differ`);
      },
    );
  }
});
