/**
 * Cyclonus under kube-router (root only): the lab sample of the generated
 * cases (sample.ts: every tag), every step replayed with real TCP and UDP
 * packets on the e2e cluster with kube-router v2.1.0's firewall in force
 * (kube-router-replay.ts), every cell compared with Cyclonus's expectation
 * (after quirks.ts). kube-router is the yardstick, not the product: how many
 * cases it passes is reported (diagnostics, and per case as JSON in the file
 * SLUICE_CYCLONUS_REPORT names), not asserted. What is asserted is that the
 * measurement means something: with no policy every probed cell is allowed,
 * deny-all policies do deny, and kube-router's run leaves the node
 * namespace's and the host's firewall as they were.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { controlPlaneSkip } from '../cluster/control-plane.js';
import { firewallState, hostFirewall, type FirewallState } from '../kube-router/firewall-state.js';
import { kubeRouterBinary, kubeRouterSkip } from '../kube-router/kube-router.js';
import { isRoot } from '../support/netns.js';
import { cyclonusSkip, loadCyclonusCases, type CyclonusCase, type CyclonusCases } from './cases.js';
import { baselineCase, describeCase, describeCell, summarize, syncDurations } from './kube-router-report.js';
import { cyclonusAddresses, KubeRouterReplay, type CaseResult } from './kube-router-replay.js';
import { missingTags, sampleCases, SAMPLE_SIZE } from './sample.js';

const skip = !isRoot()
  ? 'needs root: network namespaces, iptables and ipset'
  : controlPlaneSkip() || kubeRouterSkip() || cyclonusSkip();

const netns = (): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '');

describe('Cyclonus under kube-router · real kube-apiserver', { skip }, () => {
  let doc: CyclonusCases | undefined;
  let sample: CyclonusCase[] = [];
  let replay: KubeRouterReplay | undefined;
  let hostBefore = '';
  let nsBefore: FirewallState | undefined;
  const started = (): KubeRouterReplay => {
    assert.ok(replay !== undefined, 'the cluster or kube-router did not start');
    return replay;
  };

  before(async () => {
    doc = loadCyclonusCases();
    sample = sampleCases(doc.cases);
    hostBefore = await hostFirewall();
    replay = await KubeRouterReplay.start(cyclonusAddresses(sample), async (c) => {
      nsBefore = await firewallState(c.node.name);
    });
  });
  after(async () => {
    await replay?.close();
  });

  test('harness: with no policy every pod reaches every pod on TCP and UDP 80 and 81', async (t) => {
    const r = started();
    const first = sample[0]?.steps[0];
    assert.ok(first !== undefined, 'the sample has no step');
    const base = await r.replayCase(baselineCase(first));
    const step = base.steps[0];
    assert.ok(step !== undefined);
    assert.equal(step.probed, first.pods.length ** 2 * 4);
    assert.deepEqual(step.differ.map(describeCell), [], 'cells denied with no policy');
    t.diagnostic(`${step.probed} cells allowed (${step.flaky.length} only when probed again), ${step.syncs} syncs`);
    if (!r.conntrack) t.diagnostic('conntrack is not installed: the node namespace is not flushed between steps');
  });

  test(`the sample (${SAMPLE_SIZE} cases, every tag): how many kube-router passes`, async (t) => {
    const r = started();
    assert.ok(doc !== undefined);
    assert.ok(sample.length >= SAMPLE_SIZE, `only ${sample.length} cases in the sample`);
    assert.deepEqual(missingTags(doc.cases, sample), [], 'tags no sampled case carries');
    const since = performance.now();
    const results: CaseResult[] = [];
    for (const c of sample) results.push(await r.replayCase(c));
    const seconds = (performance.now() - since) / 1000;
    const s = summarize(results);
    t.diagnostic(
      `Cyclonus ${doc.cyclonus} under kube-router ${kubeRouterBinary().version}: ${s.passed} of ${s.cases} cases pass ` +
        `(${s.steps} steps, ${s.probed} cells probed TCP/UDP, ${s.differ} cells differ, ` +
        `${s.sctp} SCTP cells not probed), ${seconds.toFixed(0)} s`,
    );
    t.diagnostic(
      `${s.flaky} cells differed once and agreed when probed again; ${s.syncs} kube-router syncs ` +
        `(${s.writes} API writes); syncs took ${syncDurations(r.kubeRouter.syncs())}`,
    );
    for (const line of results.filter((c) => !c.pass).flatMap((c) => describeCase(c))) t.diagnostic(line);
    const file = process.env['SLUICE_CYCLONUS_REPORT'];
    if (file !== undefined && file !== '') {
      const versions = { cyclonus: doc.cyclonus, kubeRouter: kubeRouterBinary().version };
      const report = { ...versions, seconds: Number(seconds.toFixed(1)), summary: s, cases: results };
      await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    }

    // The harness, not kube-router: a step without policies allows everything,
    // and deny-all policies deny something (kube-router is enforcing at all).
    const steps = results.flatMap((c) => c.steps.map((st) => ({ c, st })));
    const open = steps.filter(({ st }) => st.policies === 0);
    assert.ok(open.length > 0, 'no step without policies in the sample');
    for (const { c, st } of open) {
      const denied = st.differ.map(describeCell);
      assert.deepEqual(denied, [], `${c.description} step ${st.step}: no policy, yet cells differ`);
    }
    const denyAll = steps.filter(({ c, st }) => c.tags.includes('deny-all') && st.policies > 0);
    assert.ok(
      denyAll.some(({ st }) => st.denied > 0),
      'no deny-all step denied a cell',
    );
    assert.ok(s.probed > 10_000, `only ${s.probed} cells probed`);
    // Each step replaced the one before: the API server holds exactly the last step's objects.
    const last = sample.at(-1)?.steps.at(-1);
    assert.ok(last !== undefined);
    const held = await r.held(last);
    assert.deepEqual(held.got, held.want, "the API server holds other objects than the last step's");
  });

  test("stop: no chain or set of kube-router remains, the host's firewall is unchanged, nothing is left", async () => {
    const r = started();
    await r.kubeRouter.stop();
    const s = await firewallState(r.cluster.node.name);
    assert.deepEqual(s.chains, []);
    assert.deepEqual(s.sets, []);
    assert.deepEqual(s, nsBefore, 'the node namespace is as it was before kube-router started');
    assert.equal(await hostFirewall(), hostBefore);
    replay = undefined;
    await r.close();
    const node = r.cluster.node;
    const names = [node.name, node.remote.ns, ...[...node.pods.values()].map((p) => p.ns)];
    assert.deepEqual(
      netns().filter((n) => names.includes(n)),
      [],
      'network namespaces left',
    );
    assert.throws(() => process.kill(r.kubeRouter.pid, 0), 'kube-router still runs');
  });
});
