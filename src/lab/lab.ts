/**
 * `sluice lab`: a one-node cluster made of network namespaces on this
 * machine. `up` builds the node namespace, one namespace per Pod (its
 * status.podIP(s), a veth to the node, a server on each declared
 * containerPort) and runs the agent on a copy of the manifests; `apply` and
 * `delete` change that copy and return once the agent has programmed it;
 * `down` removes everything and may run any number of times.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createDatapath } from '../agent/datapath-factory.js';
import { matrixPods } from '../compiler/reachability.js';
import type { DatapathKind } from '../datapath/types.js';
import type { Pod } from '../model/k8s.js';
import { loadManifestPaths } from '../source/manifest-files.js';
import { UsageError } from '../util/errors.js';
import { freePort, settledCounts, startAgent, waitEnforced, waitReady } from './agent.js';
import { applied, onLabNode, readObjects, removeObject, writeObject, type RawObject } from './manifests.js';
import { addNetns, deleteNetns, listNetns, podMac, setUpNode, wirePod, type Topology } from './netns.js';
import { nodeModuleCommand, spawnDetached, stopProcess } from './processes.js';
import { manifestDir, readState, writeState, type LabPod, type LabState } from './state.js';

export interface UpOptions {
  readonly paths: readonly string[];
  readonly datapath: DatapathKind;
  readonly topology: Topology;
  readonly stateDir: string;
  /** Prefix of the namespaces and the bpffs pin directory (`/sys/fs/bpf/<name>`). */
  readonly name: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForFile(file: string, logFile: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new UsageError(`lab: pod server did not start; see ${logFile}`);
    await sleep(20);
  }
}

function planPods(stateDir: string, name: string, pods: readonly Pod[]): LabPod[] {
  return pods.map((p, i) => ({
    id: `${p.namespace}/${p.name}`,
    ns: `${name}-p${i}`,
    hostIface: `lp${i}`,
    ips: p.ips,
    socket: path.join(stateDir, 'pods', `p${i}.sock`),
    pid: undefined,
  }));
}

/** Starts the pod's server, detached; `waitForFile(p.socket)` tells when it listens. */
function startServer(p: LabPod, pod: Pod): LabPod {
  const ports = pod.containerPorts.filter((c) => c.protocol !== 'SCTP').map((c) => `${c.protocol}:${c.port}`);
  const [node = process.execPath, ...script] = nodeModuleCommand('./pod-server.js');
  const args = ['netns', 'exec', p.ns, node, ...script, '--socket', p.socket, '--ports', ports.join(',')];
  const log = p.socket.replace(/\.sock$/, '.log');
  return { ...p, pid: spawnDetached('ip', args, log) };
}

/** Namespaces and veths of the node and every pod. */
async function wire(lab: LabState): Promise<void> {
  await setUpNode(lab.nodeNs, lab.topology, lab.datapath === 'iptables');
  for (const [i, p] of lab.pods.entries()) {
    await addNetns(p.ns);
    await wirePod({ node: lab.nodeNs, ns: p.ns, hostIface: p.hostIface, mac: podMac(i), ips: p.ips, ...lab });
  }
}

/** Another lab of the same name must not be taken over (our `down` would remove it). */
async function refuseTaken(name: string): Promise<void> {
  const taken = (await listNetns()).filter((ns) => ns.startsWith(`${name}-`));
  if (taken.length > 0) {
    const ns = taken[0] ?? '';
    throw new UsageError(`lab up: network namespace ${ns} exists: another lab named ${name}? (--name, or lab down)`);
  }
}

/** Brings a lab up and returns it; on failure removes what it built and rethrows. */
export async function labUp(o: UpOptions): Promise<LabState> {
  if ((await readState(o.stateDir)) !== undefined) {
    throw new UsageError(`lab up: a lab is already up in ${o.stateDir} (run 'sluice lab down' first)`);
  }
  await refuseTaken(o.name);
  const objects = (await readObjects(o.paths)).map(onLabNode);
  const dir = manifestDir(o.stateDir);
  await mkdir(path.join(o.stateDir, 'pods'), { recursive: true });
  await mkdir(dir, { recursive: true });
  for (const obj of objects) await writeObject(dir, obj);
  const pods = matrixPods((await loadManifestPaths([dir])).snapshot);
  let lab: LabState = {
    name: o.name,
    datapath: o.datapath,
    topology: o.topology,
    nodeNs: `${o.name}-node`,
    pinRoot: `/sys/fs/bpf/${o.name}`,
    port: await freePort(),
    agentPid: undefined,
    pods: planPods(o.stateDir, o.name, pods),
  };
  await writeState(o.stateDir, lab); // from here on `down` can undo a partial `up`
  try {
    await wire(lab);
    lab = { ...lab, agentPid: startAgent(o.stateDir, lab) };
    await writeState(o.stateDir, lab);
    lab = { ...lab, pods: lab.pods.map((p, i) => startServer(p, pods[i] as Pod)) };
    await writeState(o.stateDir, lab);
    await Promise.all(lab.pods.map((p) => waitForFile(p.socket, p.socket.replace(/\.sock$/, '.log'))));
    await waitReady(lab.port, lab.pods.length, path.join(o.stateDir, 'agent.log'));
    return lab;
  } catch (err) {
    await labDown(o.stateDir);
    throw err;
  }
}

/** Stops the processes, removes the datapath, the namespaces and the state directory. Idempotent. */
export async function labDown(stateDir: string): Promise<boolean> {
  const lab = await readState(stateDir);
  if (lab === undefined) return false;
  await Promise.all(lab.pods.map((p) => stopProcess(p.pid, stateDir)));
  await stopProcess(lab.agentPid, stateDir);
  const datapath = await createDatapath(lab.datapath, { pinRoot: lab.pinRoot, netns: lab.nodeNs });
  try {
    if (existsSync(`/run/netns/${lab.nodeNs}`)) await datapath.cleanup();
  } finally {
    await datapath.close();
  }
  if (lab.datapath === 'ebpf') await rm(lab.pinRoot, { recursive: true, force: true });
  for (const p of lab.pods) await deleteNetns(p.ns);
  await deleteNetns(lab.nodeNs);
  await rm(stateDir, { recursive: true, force: true });
  return true;
}

async function snapshotText(dir: string): Promise<string> {
  return JSON.stringify((await loadManifestPaths([dir])).snapshot);
}

/** Writes or removes objects in the lab's manifests and waits until the agent has programmed them. */
async function change(stateDir: string, command: string, paths: readonly string[], edit: Edit): Promise<void> {
  const lab = await readState(stateDir);
  if (lab === undefined) throw new UsageError(`lab ${command}: no lab in ${stateDir} (run 'sluice lab up' first)`);
  const objects = await readObjects(paths);
  const dir = manifestDir(stateDir);
  const before = await snapshotText(dir);
  const { received } = await settledCounts(lab.port);
  for (const o of objects) await edit(dir, o);
  if ((await snapshotText(dir)) === before) return;
  await waitEnforced(lab.port, received);
}

type Edit = (dir: string, o: RawObject) => Promise<void>;

export function labApply(stateDir: string, paths: readonly string[]): Promise<void> {
  return change(stateDir, 'apply', paths, async (dir, o) => writeObject(dir, await applied(dir, onLabNode(o))));
}

export function labDelete(stateDir: string, paths: readonly string[]): Promise<void> {
  return change(stateDir, 'delete', paths, removeObject);
}
