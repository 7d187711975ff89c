/**
 * Builds the datapath the agent was asked for. Backends are imported lazily,
 * so an iptables node never loads the libbpf bindings (koffi) and an eBPF
 * node never shells out to iptables. `auto` asks a chooser: the agent passes
 * the capability probe (datapath/probe-select.ts); without one, eBPF where
 * bpffs is mounted.
 */
import { existsSync } from 'node:fs';
import type { Datapath, DatapathKind } from '../datapath/types.js';
import { ERROR_CODES, SluiceError } from '../util/errors.js';
import type { DatapathChoice } from './flags.js';

export interface DatapathOptions {
  /** ebpf: bpffs directory of pins. */
  readonly pinRoot?: string;
  /** ebpf: compiled object. */
  readonly objectPath?: string;
  /** ebpf: conntrack map size. */
  readonly ctEntries?: number;
  /** Attach to / run in this network namespace (`sluice lab`, tests). */
  readonly netns?: string;
}

/** Picks a backend for `auto`; the capability probe plugs in here. */
export type AutoSelect = () => Promise<DatapathKind>;

/** The chooser when none is passed: eBPF when bpffs is mounted, iptables otherwise. */
export const bpffsAutoSelect: AutoSelect = () => Promise.resolve(existsSync('/sys/fs/bpf') ? 'ebpf' : 'iptables');

/** Module path and class name of each backend. */
const BACKENDS: Readonly<Record<DatapathKind, { readonly module: string; readonly className: string }>> = {
  ebpf: { module: '../datapath/ebpf/ebpf-datapath.js', className: 'EbpfDatapath' },
  iptables: { module: '../datapath/iptables/iptables-datapath.js', className: 'IptablesDatapath' },
};

type DatapathClass = new (options: Record<string, unknown>) => Datapath;

export async function createDatapath(
  choice: DatapathChoice,
  options: DatapathOptions = {},
  autoSelect: AutoSelect = bpffsAutoSelect,
): Promise<Datapath> {
  const kind = choice === 'auto' ? await autoSelect() : choice;
  const { module, className } = BACKENDS[kind];
  const ctor = await loadBackend(kind, module, className);
  return new ctor(backendOptions(kind, options));
}

/** Imports a backend's class; a SluiceError naming the module when it is missing. */
export async function loadBackend(kind: string, module: string, className: string): Promise<DatapathClass> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(module)) as Record<string, unknown>;
  } catch (err) {
    const message = `the ${kind} datapath is not available in this build (${module}): ${(err as Error).message}`;
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, message, {}, { cause: err });
  }
  const ctor = loaded[className];
  if (typeof ctor !== 'function') {
    throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `${module} does not export class ${className}`);
  }
  return ctor as DatapathClass;
}

function backendOptions(kind: DatapathKind, o: DatapathOptions): Record<string, unknown> {
  const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  return kind === 'ebpf'
    ? defined({ pinRoot: o.pinRoot, objectPath: o.objectPath, ctEntries: o.ctEntries, netns: o.netns })
    : defined({ netns: o.netns });
}
