/**
 * Growth of one node's compiled state with the cluster (issue 19, first
 * part): the compiler alone, in-process, no API server. The synthetic
 * cluster of scale-cluster.ts at 25,000, 75,000 and 150,000 pods over 5,000
 * nodes, 2,000 namespaces and 5,000 policies; the node compiled is `node-0`
 * (pods are spread round-robin, so it holds 5, 15 and 30 pods). Each size
 * runs in its own child process, so peaks are its own. Printed per size:
 * compile time (full, and the agent's one-pod change), the model's heap,
 * peak RSS, and the rows one node's eBPF maps would hold.
 *
 * The one-pod change is where the cluster size shows: each compile still
 * walks every pod of the cluster (class table, sorted pod list, pod facts),
 * so it grows linearly with the cluster although only one pod changed.
 * The peer rows grow too, but because these policies select more pods as
 * the cluster grows (peers by app and tier labels, 2,000 namespaces fixed),
 * not because remote pods that no local rule names are held.
 *
 * Run: node --expose-gc --import tsx bench/scale-growth.ts [--quick]   (--quick: 25,000 pods only)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCompileBench, type CompileBenchResult } from './compile.js';
import type { ScaleOptions } from './scale-cluster.js';

const SIZES = process.argv.includes('--quick') ? [25_000] : [25_000, 75_000, 150_000];
const NODE = 'node-0';

const shape = (pods: number): ScaleOptions => ({ pods, namespaces: 2000, policies: 5000, nodes: 5000 });

function child(pods: number): CompileBenchResult {
  const args = ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(pods)];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`scale-growth child at ${pods} pods failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as CompileBenchResult;
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  process.stdout.write(JSON.stringify(runCompileBench(shape(Number(process.argv[at + 1])), NODE, 5)));
} else {
  console.log(`one node (${NODE}) of 5,000 nodes, 2,000 namespaces, 5,000 policies`);
  console.log(
    '| pods | local endpoints | full compile | one-pod change | model heap | peak RSS | rule sets | tuples | peer classes | peer rows |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const pods of SIZES) {
    const r = child(pods);
    const cells = [
      pods.toLocaleString('en-US'),
      r.endpoints,
      `${r.fullMs.toFixed(0)} ms`,
      `${r.onePodMs.toFixed(1)} ms`,
      `${r.retainedMB.toFixed(0)} MB`,
      `+${r.peakMB.toFixed(0)} MB`,
      r.ruleSets,
      r.tuples,
      r.peerClasses,
      r.peerPrefixes,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
