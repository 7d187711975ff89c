/**
 * The probe at agent start: `auto` runs every check and takes what
 * chooseDatapath picks, logging why in one line; an explicit `--datapath`
 * runs that datapath's checks and refuses to start when it cannot run, with
 * the checks' reasons. Either way an agent never starts without a datapath
 * that can enforce. When eBPF is picked and bpffs is not mounted yet, it is
 * mounted here, before anything is pinned.
 */
import type { Logger } from '../util/log.js';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import { blockers, describeFailures, runProbe, type ProbeOptions } from './probe.js';
import type { DatapathKind } from './types.js';

async function prepare(kind: DatapathKind, options: ProbeOptions): Promise<DatapathKind> {
  if (kind === 'ebpf') {
    const { ensureBpffs } = await import('./probe-ebpf.js');
    await ensureBpffs(options.bpffs ?? '/sys/fs/bpf');
  }
  return kind;
}

/** For `--datapath auto`: the probe's choice; throws when nothing can run. */
export function probeAutoSelect(log: Logger, options: ProbeOptions = {}): () => Promise<DatapathKind> {
  return async () => {
    const report = await runProbe(options);
    const { datapath, reason } = report.choice;
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    if (datapath === undefined) {
      throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `--datapath auto: no datapath can run here: ${reason}`);
    }
    log.info({ datapath, reason, failed }, `datapath auto: chose ${datapath}`);
    return prepare(datapath, options);
  };
}

/** For an explicit `--datapath`: resolves when `kind` can run, else throws with the probe's reasons. */
export async function requireDatapath(kind: DatapathKind, options: ProbeOptions = {}): Promise<void> {
  const report = await runProbe({ ...options, datapaths: [kind] });
  const failed = blockers(report.checks, kind);
  if (failed.length > 0) {
    throw new SluiceError(
      ERROR_CODES.COMMAND_FAILED,
      `--datapath ${kind} cannot run here: ${describeFailures(failed)}`,
    );
  }
  await prepare(kind, options);
}
