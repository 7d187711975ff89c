import { stat } from 'node:fs/promises';
import { agentCommand, readAgentConfig, type AgentConfig } from '../../agent/flags.js';
import type { AgentDeps } from '../../agent/lifecycle.js';
import { KubeSource, inClusterAvailable } from '../../source/kube.js';
import { ManifestDirSource } from '../../source/manifest-dir.js';
import { ManifestUnreadableError } from '../../source/manifest-files.js';
import type { Source } from '../../source/types.js';
import { UsageError } from '../../util/errors.js';
import { configureRootLogger, type Logger } from '../../util/log.js';
import type { FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';

export { agentCommand };

export const NO_SOURCE_MESSAGE = `sluice agent: no cluster to read policies from. Give one of:
  --kubeconfig PATH   watch the Kubernetes API server of this kubeconfig (or set KUBECONFIG);
                      inside a pod, in-cluster configuration is used with no flag at all
                      (KUBERNETES_SERVICE_HOST and the service-account token);
  --manifests DIR     read Namespaces, Pods and NetworkPolicies from YAML/JSON files in DIR,
                      re-read whenever they change (no cluster needed).
`;

async function chooseSource(config: AgentConfig, io: Io, log: Logger): Promise<Source | undefined> {
  if (config.manifests !== undefined && config.kubeconfig !== undefined) {
    throw new UsageError('agent: --manifests and --kubeconfig exclude each other; give one');
  }
  if (config.manifests !== undefined) {
    // Checked before anything else starts: a wrong path is a usage error (exit 2).
    const info = await stat(config.manifests).catch((err: unknown) => {
      throw new ManifestUnreadableError(`cannot read: ${(err as Error).message}`, { file: config.manifests ?? '' });
    });
    if (!info.isDirectory()) throw new ManifestUnreadableError('not a directory', { file: config.manifests });
    return new ManifestDirSource({ dir: config.manifests, log });
  }
  if (config.kubeconfig === undefined && !inClusterAvailable(io.env)) return undefined;
  // Loaded lazily: the manifest source and the other commands never load the API client.
  const { clientInformers, loadKubeConfig } = await import('../../source/kube-client.js');
  return new KubeSource({ informers: clientInformers(loadKubeConfig(config.kubeconfig)), log });
}

/** SIGTERM or SIGINT, once; a second signal gets the default behaviour (exit at once). */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** `sluice agent`; tests pass `deps` (a fake datapath, a shutdown promise, a log sink). */
export async function runAgentCommand(
  values: FlagValues,
  io: Io,
  positional: string[] = [],
  deps: Partial<AgentDeps> = {},
): Promise<number> {
  if (positional.length > 0) throw new UsageError(`agent: unexpected argument '${positional[0] ?? ''}'`);
  const config = readAgentConfig(values);
  const log = deps.log ?? configureRootLogger({ level: config.logLevel });
  const source = await chooseSource(config, io, log);
  if (source === undefined) {
    io.err(NO_SOURCE_MESSAGE);
    return EXIT.USAGE;
  }
  const { runAgent } = await import('../../agent/lifecycle.js');
  return runAgent(config, source, { ...deps, log, shutdown: deps.shutdown ?? stopSignal() });
}
