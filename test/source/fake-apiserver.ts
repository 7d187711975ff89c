/**
 * A tiny stand-in for kube-apiserver, enough for client-node's typed lists
 * and watches of namespaces, pods and networkpolicies over plain HTTP: list
 * with a resourceVersion, watch streams of ADDED/MODIFIED/DELETED, a 410
 * "expired" on demand, and going away / coming back on the same port. And
 * clusternetworkpolicies.policy.networking.k8s.io, served in the versions of
 * `setCnpVersions` (none by default: the CRD is not installed, lists and
 * watches get 404).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Resource = 'namespaces' | 'pods' | 'networkpolicies' | 'clusternetworkpolicies';
const CNP_GROUP = 'policy.networking.k8s.io';
const PATHS: Record<string, Resource> = {
  '/api/v1/namespaces': 'namespaces',
  '/api/v1/pods': 'pods',
  '/apis/networking.k8s.io/v1/networkpolicies': 'networkpolicies',
  [`/apis/${CNP_GROUP}/v1beta1/clusternetworkpolicies`]: 'clusternetworkpolicies',
  [`/apis/${CNP_GROUP}/v1alpha2/clusternetworkpolicies`]: 'clusternetworkpolicies',
};
const LIST: Record<Resource, { kind: string; apiVersion: string }> = {
  namespaces: { kind: 'NamespaceList', apiVersion: 'v1' },
  pods: { kind: 'PodList', apiVersion: 'v1' },
  networkpolicies: { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1' },
  clusternetworkpolicies: { kind: 'ClusterNetworkPolicyList', apiVersion: `${CNP_GROUP}/v1beta1` },
};
const KIND: Record<Resource, { kind: string; apiVersion: string }> = {
  namespaces: { kind: 'Namespace', apiVersion: 'v1' },
  pods: { kind: 'Pod', apiVersion: 'v1' },
  networkpolicies: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1' },
  clusternetworkpolicies: { kind: 'ClusterNetworkPolicy', apiVersion: `${CNP_GROUP}/v1beta1` },
};

type Obj = {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

export class FakeApiServer {
  private rv = 1;
  /** Watches from an older resourceVersion get 410 Gone. */
  private oldestRv = 0;
  private readonly objects: Record<Resource, Map<string, Obj>> = {
    namespaces: new Map(),
    pods: new Map(),
    networkpolicies: new Map(),
    clusternetworkpolicies: new Map(),
  };
  private readonly watchers = new Set<{ resource: Resource; path: string; res: ServerResponse }>();
  /** The clusternetworkpolicies versions served (`v1beta1`, `v1alpha2`); none: the CRD is absent. */
  private cnpVersions: readonly string[] = [];
  /** Every change, replayed to a watch that starts from an older resourceVersion. */
  private readonly history: { resource: Resource; type: string; object: Obj; rv: number }[] = [];
  private server: Server | undefined;
  port = 0;
  readonly requests: string[] = [];
  /** The query string of every watch request. */
  readonly watchQueries: URLSearchParams[] = [];
  /** Lists answered with 500 while > 0. */
  failLists = 0;

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }

  put(resource: Resource, obj: Obj): void {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = this.objects[resource].has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...KIND[resource], ...obj, metadata: { ...obj.metadata, resourceVersion: `${++this.rv}` } };
    this.objects[resource].set(key, stored);
    this.send(resource, type, stored);
  }

  delete(resource: Resource, name: string, namespace?: string): void {
    const key = `${namespace ?? ''}/${name}`;
    const old = this.objects[resource].get(key);
    if (old === undefined) return;
    this.objects[resource].delete(key);
    this.send(resource, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: `${++this.rv}` } });
  }

  /**
   * Installs (or changes, or with [] removes) the ClusterNetworkPolicy CRD:
   * open watches of versions no longer served end, as the API server ends them.
   */
  setCnpVersions(versions: readonly string[]): void {
    this.cnpVersions = versions;
    for (const w of this.watchers) {
      if (w.resource === 'clusternetworkpolicies' && !this.served(w.path)) {
        w.res.end();
        this.watchers.delete(w);
      }
    }
  }

  private served(path: string): boolean {
    const resource = PATHS[path];
    if (resource !== 'clusternetworkpolicies') return resource !== undefined;
    return this.cnpVersions.some((v) => path === `/apis/${CNP_GROUP}/${v}/clusternetworkpolicies`);
  }

  /** Every resourceVersion so far is too old: open watches get a 410 ERROR event and end. */
  expire(): void {
    this.oldestRv = ++this.rv;
    for (const w of this.watchers) w.res.end(gone());
    this.watchers.clear();
  }

  private send(resource: Resource, type: string, object: Obj): void {
    this.history.push({ resource, type, object, rv: this.rv });
    for (const w of this.watchers) if (w.resource === resource) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const resource = PATHS[url.pathname];
    const watch = url.searchParams.get('watch') === 'true';
    // clusternetworkpolicies@v1beta1: which version was asked for.
    const named =
      resource === 'clusternetworkpolicies'
        ? `${resource}@${url.pathname.split('/')[3] ?? ''}`
        : (resource ?? url.pathname);
    this.requests.push(`${watch ? 'watch' : 'list'} ${named} rv=${url.searchParams.get('resourceVersion') ?? ''}`);
    if (watch) this.watchQueries.push(url.searchParams);
    if (resource === undefined || !this.served(url.pathname)) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"kind":"Status","code":404,"reason":"NotFound"}');
      return;
    }
    if (!watch) {
      if (this.failLists > 0) {
        this.failLists--;
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"kind":"Status","code":500}');
        return;
      }
      const body = {
        ...LIST[resource],
        metadata: { resourceVersion: `${this.rv}` },
        items: [...this.objects[resource].values()],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (Number(url.searchParams.get('resourceVersion') ?? '0') < this.oldestRv) {
      res.end(gone());
      return;
    }
    res.flushHeaders(); // as the API server does: the client's watch() resolves on headers
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    for (const h of this.history) {
      if (h.resource === resource && h.rv > from) res.write(`${JSON.stringify({ type: h.type, object: h.object })}\n`);
    }
    const watcher = { resource, path: url.pathname, res };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }

  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${this.port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: fake, context: {cluster: fake, user: u}}]',
      'current-context: fake',
      '',
    ].join('\n');
  }
}

function gone(): string {
  return `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' } })}\n`;
}
