/**
 * The ClusterNetworkPolicy CRD of sigs.k8s.io/network-policy-api (standard
 * channel), as test/cluster/fetch-crd.sh caches it: the upstream file, never
 * a copy in this repository. The version is the script's `version=` line, so
 * the script and the tests cannot disagree about which file to read.
 *
 * `installCrd` applies it the way a user does (`kubectl apply -f`), waits
 * for the API server to report it Established, then lists every served
 * version once, so that the first request of a test never races the new
 * group's discovery.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const CNP_CRD_NAME = 'clusternetworkpolicies.policy.networking.k8s.io';
/** The collections the CRD serves, preferred (storage) version first: what sluice's source tries, in order. */
export const CNP_COLLECTIONS = [
  '/apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies',
  '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
] as const;

export interface CrdFile {
  readonly version: string;
  readonly file: string;
}

/** Where fetch-crd.sh caches the CRD of its pinned version (same rule as the script). */
export function clusterNetworkPolicyCrd(): CrdFile {
  const script = readFileSync(path.join(here, 'fetch-crd.sh'), 'utf8');
  const version = /^version=(v\S+)$/m.exec(script)?.[1];
  if (version === undefined) throw new Error('test/cluster/fetch-crd.sh has no version= line');
  const cache = process.env['SLUICE_CACHE'] ?? path.join(os.homedir(), '.cache', 'sluice');
  return { version, file: path.join(cache, `network-policy-api-${version}`, 'clusternetworkpolicies.yaml') };
}

const notFetched = (file: string): string =>
  `ClusterNetworkPolicy CRD not fetched (bash test/cluster/fetch-crd.sh): missing ${file}`;

/** A skip reason when the CRD has not been fetched, else false. */
export function crdSkip(): string | false {
  const { file } = clusterNetworkPolicyCrd();
  return existsSync(file) ? false : notFetched(file);
}

type Kubectl = (args: readonly string[]) => Promise<string>;

/** `kubectl apply -f` the CRD, then wait until it is Established and every version lists. */
export async function installCrd(kubectl: Kubectl, timeoutMs = 60_000): Promise<void> {
  const { file } = clusterNetworkPolicyCrd();
  if (!existsSync(file)) throw new Error(notFetched(file));
  await kubectl(['apply', '-f', file]);
  const seconds = Math.ceil(timeoutMs / 1000);
  await kubectl(['wait', '--for=condition=Established', `crd/${CNP_CRD_NAME}`, `--timeout=${seconds}s`]);
  for (const collection of CNP_COLLECTIONS) await kubectl(['get', '--raw', collection]);
}
