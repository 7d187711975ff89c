/**
 * What the end-to-end step tests share: after a change made with kubectl,
 * real TCP/UDP connections between every pod pair must come to equal
 * `sluice simulate` on the objects read back from the API server
 * (`converge`), and the simulated matrix must hold the cells the step
 * names (`checkCells`), so that a step cannot pass by changing nothing.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { ReachabilityMatrix } from '../../src/compiler/reachability.js';
import type { E2eCluster, ProbeProtocol } from './e2e-cluster.js';

/** [from, to, port, allowed, protocol (default TCP)] */
export type Cell = readonly [from: string, to: string, port: number, allowed: boolean, protocol?: 'UDP'];

export interface Probes {
  readonly ports: readonly number[];
  /** UDP ports whose matrix is compared too. */
  readonly udpPorts?: readonly number[];
  /** Milliseconds allowed from the change to matching enforcement (default 10 s). */
  readonly withinMs?: number;
}

/** The measured matrices of one step, by `TCP/80`. */
export type Matrices = ReadonlyMap<string, ReachabilityMatrix>;

export const sameMatrix = (a: readonly (readonly boolean[])[], b: readonly (readonly boolean[])[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

export const agentTail = (c: E2eCluster): string => `agent log (tail):\n${c.agentLog().slice(-3000)}`;

/** Waits until real packets equal `sluice simulate` on every probed port; returns what was measured. */
export async function converge(t: TestContext, c: E2eCluster, step: Probes, since: number): Promise<Matrices> {
  const deadline = since + (step.withinMs ?? 10_000);
  const probes: [ProbeProtocol, number][] = [
    ...step.ports.map((p): [ProbeProtocol, number] => ['TCP', p]),
    ...(step.udpPorts ?? []).map((p): [ProbeProtocol, number] => ['UDP', p]),
  ];
  const measured = new Map<string, ReachabilityMatrix>();
  for (const [protocol, port] of probes) {
    const want = await c.simulate(port, protocol);
    let got = await c.measure(port, want.pods, protocol);
    while (!sameMatrix(got.allowed, want.allowed) && Date.now() < deadline) {
      got = await c.measure(port, want.pods, protocol);
    }
    assert.deepEqual(got, want, `${protocol}/${port}: real packets ≠ sluice simulate\n${agentTail(c)}`);
    measured.set(`${protocol}/${port}`, got);
  }
  // Includes reading the objects back, one `sluice simulate` per port and 400 ms probe timeouts.
  t.diagnostic(`enforced as simulated ${Date.now() - since} ms after kubectl returned`);
  return measured;
}

export async function checkCells(c: E2eCluster, cells: readonly Cell[]): Promise<void> {
  for (const [from, to, port, allowed, protocol = 'TCP'] of cells) {
    const m = await c.simulate(port, protocol);
    const i = m.pods.indexOf(from);
    const j = m.pods.indexOf(to);
    assert.ok(i >= 0 && j >= 0, `simulate has no pod ${i < 0 ? from : to}`);
    assert.equal(m.allowed[i]?.[j], allowed, `simulate ${from} → ${to} ${protocol}/${port}`);
  }
}
