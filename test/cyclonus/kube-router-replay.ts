/**
 * Cyclonus steps replayed with real packets under kube-router (root only),
 * the yardstick beside sluice: one e2e cluster (test/e2e/e2e-cluster.ts,
 * routed topology) whose pod namespaces are Cyclonus's addresses — one per
 * address any step uses, serving TCP and UDP 80 and 81 for the whole run,
 * whichever Cyclonus pod holds the address in a step — and one kube-router
 * (test/kube-router/kube-router.ts, firewall only) in its node namespace.
 *
 * A step is shown by making the API server hold exactly its Namespaces, Pods
 * (on node-a, status podIP = Cyclonus's address) and NetworkPolicies
 * (test/e2e/api-objects.ts: only what changed is written, so at a case's
 * first step the previous case's objects go away), waiting until kube-router
 * has synced every change (`settled`), then flushing the node namespace's
 * conntrack table (kube-router accepts ESTABLISHED flows first, and a UDP
 * probe of an earlier step may share its 4-tuple). Every TCP and UDP cell is
 * probed, all at once (one machine: 250 ms, a failure tried again with
 * 750 ms); a cell that differs from Cyclonus's expectation (after quirks.ts)
 * is probed once more after the next settle, and counts as differing only
 * when it differs again (else as flaky). SCTP cells are counted, not probed.
 */
import { ApiObjects, type KubeObject } from '../e2e/api-objects.js';
import { createE2eBase, type E2eCluster } from '../e2e/e2e-cluster.js';
import { startKubeRouter, type KubeRouter } from '../kube-router/kube-router.js';
import { SERVICE_CIDR, type Agent } from '../support/netns.js';
import { cellGroups, type CyclonusCase, type CyclonusCell, type CyclonusStep } from './cases.js';
import { stepObjects } from './manifests.js';
import { expectation } from './quirks.js';

const PORTS = [80, 81];
const TIMEOUTS_MS = [250, 750];
const NODE = 'node-a';

export interface CellVerdict {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** Cyclonus's expectation (after quirks.ts). */
  readonly want: boolean;
  readonly got: boolean;
  /** The second measurement, when the first differed. */
  readonly again?: boolean;
}

export interface StepResult {
  readonly step: number;
  readonly probe: string;
  readonly policies: number;
  /** API objects written to show the step, and kube-router syncs that started after the first write. */
  readonly writes: number;
  readonly syncs: number;
  readonly probed: number;
  /** Probed cells measured denied. */
  readonly denied: number;
  readonly sctp: number;
  /** Cells that differed twice. */
  readonly differ: readonly CellVerdict[];
  /** Cells that differed once, then agreed. */
  readonly flaky: readonly CellVerdict[];
}

export interface CaseResult {
  readonly description: string;
  readonly tags: readonly string[];
  readonly pass: boolean;
  readonly steps: readonly StepResult[];
}

const probed = (c: CyclonusCell): c is CyclonusCell & { protocol: 'TCP' | 'UDP' } => c.protocol !== 'SCTP';
const podSlot = (ip: string): string => `cyclonus/${ip.replaceAll('.', '-')}`;

/** Every address any step of `cases` gives a pod. */
export function cyclonusAddresses(cases: readonly CyclonusCase[]): string[] {
  const ips = cases.flatMap((c) => c.steps.flatMap((s) => s.pods.map((p) => p.ip)));
  return [...new Set(ips)].sort();
}

/** The cluster and kube-router of one replay; `close()` removes both. */
export class KubeRouterReplay {
  private readonly objects: ApiObjects;
  /** Whether conntrack -F works in the node namespace (false: the tool is missing). */
  conntrack = true;

  private constructor(
    readonly cluster: E2eCluster,
    readonly kubeRouter: KubeRouter,
  ) {
    this.objects = new ApiObjects((args, stdin) => cluster.kubectl(args, stdin));
  }

  /** Starts the cluster with a pod namespace per address, then kube-router (its first sync done). */
  static async start(
    addresses: readonly string[],
    onCluster?: (c: E2eCluster) => Promise<void>,
  ): Promise<KubeRouterReplay> {
    const pods = addresses.map((ip) => ({ id: podSlot(ip), v4: ip }));
    const c = await createE2eBase('routed', { pods, listen: { tcp: PORTS, udp: PORTS } });
    try {
      await onCluster?.(c);
      const kr = await startKubeRouter({
        netns: c.node.name,
        kubeconfig: c.cp.kubeconfig,
        nodeName: NODE,
        serviceCidr: SERVICE_CIDR,
      });
      return new KubeRouterReplay(c, kr);
    } catch (err) {
      await c.destroy();
      throw err;
    }
  }

  /** The step's objects as the API server takes them: pods on node-a with Cyclonus's address. */
  private apiObjects(step: CyclonusStep): KubeObject[] {
    const hostIP = this.cluster.nodeIPs.get(NODE) ?? '';
    return stepObjects(step).map((o) => {
      if (o['kind'] !== 'Pod') return o;
      const spec = { ...(o['spec'] as object), nodeName: NODE };
      return { ...o, spec, status: { ...(o['status'] as object), hostIP } };
    });
  }

  /** Makes the cluster hold `step` and waits until kube-router enforces it; the writes and syncs it took. */
  async show(step: CyclonusStep): Promise<{ writes: number; syncs: number }> {
    const before = this.kubeRouter.syncs().length;
    const { writes } = await this.objects.converge(this.apiObjects(step));
    if (writes > 0) await this.kubeRouter.settled(Date.now());
    await this.flushConntrack();
    return { writes, syncs: this.kubeRouter.syncs().length - before };
  }

  /** `kind/namespace/name` of the step's objects and of those the API server holds (system namespaces aside). */
  async held(step: CyclonusStep): Promise<{ want: string[]; got: string[] }> {
    const name = (o: KubeObject): string => {
      const m = o['metadata'] as { name: string; namespace?: string };
      return `${String(o['kind'])}/${m.namespace ?? ''}/${m.name}`;
    };
    const out = await this.cluster.kubectl(['get', 'namespaces,pods,networkpolicies', '-A', '-o', 'json']);
    const items = (JSON.parse(out) as { items: KubeObject[] }).items;
    const system = /^Namespace\/\/(default|kube-system|kube-public|kube-node-lease)$/;
    return {
      want: stepObjects(step).map(name).sort(),
      got: items
        .map(name)
        .filter((n) => !system.test(n))
        .sort(),
    };
  }

  private async flushConntrack(): Promise<void> {
    if (!this.conntrack) return;
    try {
      await this.cluster.node.exec('conntrack', ['-F']);
    } catch {
      this.conntrack = false;
    }
  }

  private agent(ip: string): Agent {
    return this.cluster.pod(podSlot(ip)).agent;
  }

  /** One real connection (or UDP round trip) from pod address `from` to `to`. */
  async connect(from: string, to: string, port: number, protocol: 'TCP' | 'UDP'): Promise<boolean> {
    const agent = this.agent(from);
    for (const timeoutMs of TIMEOUTS_MS) {
      const ok =
        protocol === 'TCP' ? await agent.tcp(to, port, { timeoutMs }) : await agent.udp(to, port, { timeoutMs });
      if (ok) return true;
    }
    return false;
  }

  /** Measures `cells` of `step` (TCP and UDP), all at once. */
  async measure(step: CyclonusStep, cells: readonly CyclonusCell[]): Promise<boolean[]> {
    const ip = new Map(step.pods.map((p) => [`${p.namespace}/${p.name}`, p.ip]));
    const addr = (id: string): string => {
      const a = ip.get(id);
      if (a === undefined) throw new Error(`cell names pod ${id}, which the step does not have`);
      return a;
    };
    return Promise.all(cells.filter(probed).map((c) => this.connect(addr(c.from), addr(c.to), c.port, c.protocol)));
  }

  /** Shows and probes every step of `c`. */
  async replayCase(c: CyclonusCase): Promise<CaseResult> {
    const steps: StepResult[] = [];
    for (const [i, step] of c.steps.entries()) {
      const shown = await this.show(step);
      const cells = step.cells.filter(probed);
      const got = await this.measure(step, cells);
      const verdicts = cells.map((cell, j): CellVerdict => {
        const v = { from: cell.from, to: cell.to, port: cell.port, protocol: cell.protocol };
        return { ...v, want: expectation(c, step, cell).allowed, got: got[j] === true };
      });
      let differ = verdicts.filter((v) => v.want !== v.got);
      let flaky: CellVerdict[] = [];
      if (differ.length > 0) {
        await this.kubeRouter.settled(Date.now(), { eventMs: 1000 });
        await this.flushConntrack();
        const idx = verdicts.flatMap((v, j) => (v.want !== v.got ? [j] : []));
        const again = await this.measure(
          step,
          idx.map((j) => cells[j] as CyclonusCell),
        );
        const second = differ.map((v, k) => ({ ...v, again: again[k] === true }));
        differ = second.filter((v) => v.again !== v.want);
        flaky = second.filter((v) => v.again === v.want);
      }
      const sctp = cellGroups(step)
        .filter((g) => g.protocol === 'SCTP')
        .reduce((n, g) => n + g.cells.length, 0);
      steps.push({
        step: i + 1,
        probe: step.probe,
        policies: step.policies.length,
        ...shown,
        probed: cells.length,
        denied: verdicts.filter((v) => !v.got).length,
        sctp,
        differ,
        flaky,
      });
    }
    return { description: c.description, tags: c.tags, pass: steps.every((s) => s.differ.length === 0), steps };
  }

  /** Stops kube-router (removing its chains and sets from the node namespace), then the cluster. */
  async close(): Promise<void> {
    try {
      await this.kubeRouter.stop();
    } finally {
      await this.cluster.destroy();
    }
  }
}
