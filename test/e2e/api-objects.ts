/**
 * Namespaces, Pods and NetworkPolicies made to match a wanted list through
 * the e2e cluster's API server, step by step, writing only what changed:
 * new or changed objects in one `kubectl apply` (namespaces first), a new
 * Pod's status (phase, podIP, hostIP: no kubelet sets it) patched after,
 * objects no longer wanted deleted (policies, then pods, then namespaces),
 * a Pod whose spec changed deleted and created again (a spec is immutable).
 *
 * No controller-manager runs (test/cluster/control-plane.ts), so nothing
 * empties or finalizes a deleted Namespace: its Pods and policies are
 * deleted here first, Pods with grace period 0 (no kubelet confirms), then
 * the Namespace's finalizer is removed through its /finalize subresource so
 * that it is really gone and its name can be used again.
 */

export type KubeObject = Record<string, unknown>;
export type Kubectl = (args: readonly string[], stdin?: string) => Promise<string>;

interface Meta {
  readonly name: string;
  readonly namespace?: string;
}

const KINDS = ['Namespace', 'Pod', 'NetworkPolicy'] as const;
type Kind = (typeof KINDS)[number];

const meta = (o: KubeObject): Meta => o['metadata'] as Meta;
const kind = (o: KubeObject): Kind => {
  const k = o['kind'];
  if (!KINDS.includes(k as Kind)) throw new Error(`api-objects: unsupported kind ${String(k)}`);
  return k as Kind;
};
const key = (o: KubeObject): string => `${kind(o)}/${meta(o).namespace ?? ''}/${meta(o).name}`;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const withoutStatus = (o: KubeObject): KubeObject =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'status'));

export interface Converged {
  /** Objects created, changed or deleted (0: the API server already held the list). */
  readonly writes: number;
}

/** The objects this process has written to one API server, kept equal to the last wanted list. */
export class ApiObjects {
  private readonly held = new Map<string, KubeObject>();

  constructor(private readonly kubectl: Kubectl) {}

  /** Makes the API server hold exactly `wanted` (of the objects written through this instance). */
  async converge(wanted: readonly KubeObject[]): Promise<Converged> {
    const want = new Map(wanted.map((o) => [key(o), o]));
    const recreate = [...want].filter(([k, o]) => {
      const had = this.held.get(k);
      return had !== undefined && kind(o) === 'Pod' && !same(had['spec'], o['spec']);
    });
    const gone = [...this.held].filter(([k]) => !want.has(k)).map(([, o]) => o);
    await this.remove([...gone, ...recreate.map(([k]) => this.held.get(k) as KubeObject)]);

    const order = (o: KubeObject): number => KINDS.indexOf(kind(o));
    const changed = [...want]
      .filter(
        ([k, o]) =>
          !same(this.held.get(k) === undefined ? undefined : withoutStatus(this.held.get(k) ?? {}), withoutStatus(o)),
      )
      .map(([, o]) => o)
      .sort((a, b) => order(a) - order(b));
    if (changed.length > 0) {
      const list = { apiVersion: 'v1', kind: 'List', items: changed.map(withoutStatus) };
      await this.kubectl(['apply', '-f', '-'], JSON.stringify(list));
    }
    const statuses = [...want].filter(
      ([k, o]) => kind(o) === 'Pod' && !same(this.held.get(k)?.['status'], o['status']),
    );
    for (const [, o] of statuses) {
      const m = meta(o);
      const patch = JSON.stringify({ status: o['status'] });
      await this.kubectl([
        'patch',
        'pod',
        '-n',
        m.namespace ?? '',
        m.name,
        '--subresource=status',
        '--type=merge',
        '-p',
        patch,
      ]);
    }
    for (const [k, o] of want) this.held.set(k, o);
    const writes = new Set([...gone.map(key), ...changed.map(key), ...statuses.map(([k]) => k)]);
    return { writes: writes.size };
  }

  /** Deletes everything written through this instance. */
  async clear(): Promise<void> {
    await this.converge([]);
  }

  private async remove(objects: readonly KubeObject[]): Promise<void> {
    const byKind = (k: Kind): KubeObject[] => objects.filter((o) => kind(o) === k);
    const namespaces = new Set(byKind('Namespace').map((o) => meta(o).name));
    // What is left in a namespace that goes away goes first, wanted or not.
    const inGone = [...this.held.values()].filter(
      (o) => kind(o) !== 'Namespace' && namespaces.has(meta(o).namespace ?? ''),
    );
    const all = new Map([...objects, ...inGone].map((o) => [key(o), o]));
    for (const k of ['NetworkPolicy', 'Pod'] as const) {
      const perNs = new Map<string, string[]>();
      for (const o of [...all.values()].filter((o) => kind(o) === k)) {
        const ns = meta(o).namespace ?? '';
        perNs.set(ns, [...(perNs.get(ns) ?? []), meta(o).name]);
      }
      for (const [ns, names] of perNs) {
        const force = k === 'Pod' ? ['--grace-period=0', '--force'] : [];
        await this.kubectl(['delete', k.toLowerCase(), '-n', ns, ...force, '--wait=false', ...names]);
      }
    }
    for (const ns of namespaces) {
      await this.kubectl(['delete', 'namespace', ns, '--wait=false']);
      const finalize = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: [] } };
      await this.kubectl(
        ['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'],
        JSON.stringify(finalize),
      );
    }
    for (const k of all.keys()) this.held.delete(k);
  }
}
