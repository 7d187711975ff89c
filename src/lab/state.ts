/**
 * What a running lab is made of, recorded in `<state-dir>/lab.json` by `lab
 * up` and read by `apply`, `probe` and `down`: the namespaces, the processes
 * (pids with a marker their command line must contain, so a reused pid is
 * never signalled) and where the agent listens.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DatapathKind } from '../datapath/types.js';
import { UsageError } from '../util/errors.js';
import type { Topology } from './netns.js';

export interface LabPod {
  /** `namespace/name` */
  readonly id: string;
  readonly ns: string;
  readonly hostIface: string;
  readonly ips: readonly string[];
  /** Unix socket of the pod's server (control and probes). */
  readonly socket: string;
  readonly pid: number | undefined;
}

export interface LabState {
  readonly name: string;
  readonly datapath: DatapathKind;
  readonly topology: Topology;
  readonly nodeNs: string;
  readonly pinRoot: string;
  /** The agent's health and metrics port on 127.0.0.1. */
  readonly port: number;
  readonly agentPid: number | undefined;
  readonly pods: readonly LabPod[];
}

export const NODE_NAME = 'lab-node';
export const DEFAULT_STATE_DIR = '/run/sluice-lab';
export const DEFAULT_LAB_NAME = 'sluice-lab';

export const labFile = (stateDir: string): string => path.join(stateDir, 'lab.json');
export const manifestDir = (stateDir: string): string => path.join(stateDir, 'manifests');

export async function writeState(stateDir: string, state: LabState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const tmp = `${labFile(stateDir)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, labFile(stateDir));
}

/** The lab of `stateDir`; undefined when there is none. */
export async function readState(stateDir: string): Promise<LabState | undefined> {
  const text = await readFile(labFile(stateDir), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return text === undefined ? undefined : (JSON.parse(text) as LabState);
}

export async function requireState(stateDir: string, command: string): Promise<LabState> {
  const state = await readState(stateDir);
  if (state === undefined) throw new UsageError(`lab ${command}: no lab in ${stateDir} (run 'sluice lab up' first)`);
  return state;
}
