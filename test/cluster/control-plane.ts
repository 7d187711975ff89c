/**
 * A real Kubernetes control plane for the end-to-end tests: etcd and
 * kube-apiserver built by test/cluster/build.sh (pinned in test/cluster/go.mod),
 * started on loopback with random free ports, a CA, serving certificate,
 * admin client certificate and service-account key made by `openssl` in a
 * temporary directory, RBAC (with the Node authorizer) on, and a kubeconfig
 * for kubectl.
 *
 * `netns`: run both servers (and kubectl) inside that network namespace
 * (`nsenter --net`, which unlike `ip netns exec` keeps /sys/fs/bpf mounted),
 * so an agent in the same namespace reaches the API server on its loopback.
 *
 * No controller-manager runs: nothing creates ServiceAccounts `default` (the
 * ServiceAccount admission plugin is off, so pods need none) and namespaces
 * are never finalized (the whole cluster is thrown away in `stop()`).
 *
 * The ClusterNetworkPolicy CRD (test/cluster/crd.ts) is not installed unless
 * asked for (`clusterNetworkPolicyCrd`, or `installClusterNetworkPolicyCrd()`
 * later), so a cluster without it is the default, as in most real clusters.
 *
 * kubectl keeps its discovery cache in the temporary directory: every test
 * cluster listens on 127.0.0.1:6443 inside its namespace, so a shared
 * ~/.kube/cache would hand one cluster's API groups (a CRD) to the next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCrd } from './crd.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ClusterBinaries {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  readonly etcd: string;
  readonly k8sVersion: string;
}

/** Where build.sh caches the binaries of the versions in go.mod (same rule as build.sh). */
export function clusterBinaries(): ClusterBinaries {
  const mod = readFileSync(path.join(here, 'go.mod'), 'utf8');
  const version = (module: string): string => {
    const m = new RegExp(`^\\s*${module.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(mod);
    if (m?.[1] === undefined) throw new Error(`test/cluster/go.mod does not require ${module}`);
    return m[1];
  };
  const cache = process.env['SLUICE_CACHE'] ?? path.join(os.homedir(), '.cache', 'sluice');
  const k8sVersion = version('k8s.io/kubernetes');
  const k8s = path.join(cache, `k8s-${k8sVersion}`);
  return {
    kubeApiserver: path.join(k8s, 'kube-apiserver'),
    kubectl: path.join(k8s, 'kubectl'),
    etcd: path.join(cache, `etcd-${version('go.etcd.io/etcd/server/v3')}`, 'etcd'),
    k8sVersion,
  };
}

/** A skip reason when the binaries are not built (or not root when a netns is needed), else false. */
export function controlPlaneSkip(): string | false {
  const bins = clusterBinaries();
  const missing = [bins.etcd, bins.kubeApiserver, bins.kubectl].filter((b) => !existsSync(b));
  if (missing.length > 0) return `control plane not built (bash test/cluster/build.sh): missing ${missing.join(', ')}`;
  if (spawnable('openssl') === false) return 'openssl is not installed';
  return false;
}

function spawnable(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => existsSync(path.join(d, cmd)));
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> (inside `netns` when one was given). */
  readonly server: string;
  /** The temporary directory: certificates, kubeconfigs, etcd data, logs. */
  readonly dir: string;
  /** Admin kubeconfig (client certificate in system:masters). */
  readonly kubeconfig: string;
  readonly caFile: string;
  /** Runs kubectl with the admin kubeconfig; rejects on a non-zero exit. */
  kubectl(args: readonly string[], stdin?: string): Promise<string>;
  /** Runs kubectl and returns its exit code and output, whatever they are. */
  kubectlResult(args: readonly string[], stdin?: string): Promise<KubectlResult>;
  /** True once the ClusterNetworkPolicy CRD was installed through this object (then kubectl can get the kind). */
  readonly servesClusterNetworkPolicy: boolean;
  /** `kubectl apply -f` of the ClusterNetworkPolicy CRD; resolves once it is Established and lists. */
  installClusterNetworkPolicyCrd(): Promise<void>;
  /** Writes a kubeconfig that authenticates with a bearer token; returns its path. */
  tokenKubeconfig(name: string, token: string): Promise<string>;
  /** Stops kube-apiserver (etcd keeps the data). */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits for /readyz. */
  startApiServer(): Promise<void>;
  /** Stops everything and removes the temporary directory. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  readonly netns?: string;
  readonly serviceCidr?: string;
  /** Milliseconds to wait for /readyz (default 120 s: a loaded 2-core runner is slow). */
  readonly readyTimeoutMs?: number;
  /** Install the ClusterNetworkPolicy CRD once the API server is ready (default: not installed). */
  readonly clusterNetworkPolicyCrd?: boolean;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins = clusterBinaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-cp-'));
  const procs: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await makeCerts(dir);
    const ports = opts.netns === undefined ? await freePorts(3) : [2379, 2380, 6443];
    const [etcdClient = 0, etcdPeer = 0, apiPort = 0] = ports;
    const wrap = (cmd: string, args: readonly string[]): [string, string[]] =>
      opts.netns === undefined ? [cmd, [...args]] : ['nsenter', [`--net=/run/netns/${opts.netns}`, cmd, ...args]];
    procs.push(startProc('etcd', wrap(bins.etcd, etcdArgs(dir, etcdClient, etcdPeer)), dir));
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    const cacheDir = path.join(dir, 'kube-cache');
    await writeFile(kubeconfig, kubeconfigText(server, path.join(dir, 'ca.crt'), 'admin', adminUser(dir)));
    const kubectlResult = (args: readonly string[], stdin?: string): Promise<KubectlResult> => {
      const [cmd, argv] = wrap(bins.kubectl, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args]);
      return runCmd(cmd, argv, stdin);
    };
    const kubectl = async (args: readonly string[], stdin?: string): Promise<string> => {
      const r = await kubectlResult(args, stdin);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const apiArgs = apiserverArgs(dir, apiPort, etcdClient, opts.serviceCidr ?? '10.96.0.0/16');
    let api: Proc | undefined;
    const startApiServer = async (): Promise<void> => {
      api = startProc('kube-apiserver', wrap(bins.kubeApiserver, apiArgs), dir);
      procs.push(api);
      await waitReady(kubectlResult, api, opts.readyTimeoutMs ?? 120_000);
    };
    await startApiServer();
    let crdInstalled = false;
    const installClusterNetworkPolicyCrd = async (): Promise<void> => {
      await installCrd(kubectl);
      crdInstalled = true;
    };
    if (opts.clusterNetworkPolicyCrd === true) await installClusterNetworkPolicyCrd();
    return {
      server,
      dir,
      kubeconfig,
      caFile: path.join(dir, 'ca.crt'),
      kubectl,
      kubectlResult,
      get servesClusterNetworkPolicy() {
        return crdInstalled;
      },
      installClusterNetworkPolicyCrd,
      async tokenKubeconfig(name, token) {
        const file = path.join(dir, `${name}.kubeconfig`);
        await writeFile(file, kubeconfigText(server, path.join(dir, 'ca.crt'), name, { token }));
        return file;
      },
      stopApiServer: async () => api?.stop(),
      startApiServer,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function etcdArgs(dir: string, client: number, peer: number): string[] {
  return [
    '--name=sluice-test',
    `--data-dir=${path.join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${client}`,
    `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=sluice-test=http://127.0.0.1:${peer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

function apiserverArgs(dir: string, port: number, etcd: number, serviceCidr: string): string[] {
  const f = (name: string): string => path.join(dir, name);
  return [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${f('apiserver-certs')}`,
    `--etcd-servers=http://127.0.0.1:${etcd}`,
    `--tls-cert-file=${f('serving.crt')}`,
    `--tls-private-key-file=${f('serving.key')}`,
    `--client-ca-file=${f('ca.crt')}`,
    '--authorization-mode=Node,RBAC',
    // As kubeadm and the managed distributions run it: the DaemonSet's bpffs
    // init container is privileged.
    '--allow-privileged=true',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    // No controller-manager creates `default` ServiceAccounts (see the header).
    '--disable-admission-plugins=ServiceAccount',
    // The `kubernetes` Service's endpoint would be 127.0.0.1, which Endpoints reject.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
    '--v=0',
  ];
}

/** CA, serving certificate (127.0.0.1, localhost), admin client certificate (system:masters), SA key pair. */
async function makeCerts(dir: string): Promise<void> {
  const ssl = (args: string[]): Promise<unknown> => runChecked('openssl', args, dir);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=sluice-test-ca',
  ]);
  await writeFile(path.join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1\n');
  await writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const issue = async (name: string, subj: string, ext: string): Promise<void> => {
    await ssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    const ca = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2'];
    await ssl(['x509', '-req', '-in', `${name}.csr`, ...ca, '-extfile', ext, '-out', `${name}.crt`]);
  };
  await issue('serving', '/CN=kube-apiserver', 'serving.ext');
  await issue('admin', '/O=system:masters/CN=sluice-test-admin', 'client.ext');
  await ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'sa.key']);
  await ssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function adminUser(dir: string): Record<string, string> {
  return {
    'client-certificate-data': readB64(path.join(dir, 'admin.crt')),
    'client-key-data': readB64(path.join(dir, 'admin.key')),
  };
}

const readB64 = (file: string): string => readFileSync(file).toString('base64');

function kubeconfigText(server: string, ca: string, user: string, auth: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sluice-test', cluster: { server, 'certificate-authority-data': readB64(ca) } }],
    users: [{ name: user, user: auth }],
    contexts: [{ name: user, context: { cluster: 'sluice-test', user } }],
    'current-context': user,
  });
}

async function waitReady(
  kubectl: (args: readonly string[]) => Promise<KubectlResult>,
  api: Proc,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: KubectlResult | undefined;
  while (Date.now() < deadline) {
    if (api.exited()) throw new Error(`kube-apiserver exited early:\n${api.tail()}`);
    last = await kubectl(['get', '--raw', '/readyz']);
    if (last.code === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms: ${last?.stderr ?? ''}\n${api.tail()}`);
}

interface Proc {
  stop(): Promise<void>;
  exited(): boolean;
  /** The end of its log. */
  tail(): string;
}

function startProc(name: string, [cmd, args]: [string, string[]], dir: string): Proc {
  const child: ChildProcess = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-8000)));
  child.on('error', (e) => (log += `\n${name}: ${String(e)}`));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    exited: () => child.exitCode !== null || child.signalCode !== null,
    tail: () => `--- ${name} ---\n${log}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await gone;
      clearTimeout(kill);
    },
  };
}

function runCmd(cmd: string, args: readonly string[], stdin?: string, cwd?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

async function runChecked(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await runCmd(cmd, args, undefined, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
