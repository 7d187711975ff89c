/**
 * The eBPF datapath: loads sluice.bpf.o with every map pinned under the pin
 * root (re-using pins that exist: that is how a restarted agent adopts the
 * previous one's state), writes the planner's diff, and attaches the tc
 * programs to the node's pod interfaces. State that must survive the
 * process (id assignments, what was attached where) lives in sluice_names.
 */

import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';

import type { CompiledPolicy } from '../../model/compiled.js';
import type { ApplyStats, Datapath, NodeContext } from '../types.js';
import { attach, detach, probeTcx, type AttachMode, type Programs } from './attach.js';
import { plan } from './encode.js';
import { assignIds, idsFromNames } from './ids.js';
import * as L from './layout.js';
import { closeFd } from './libbpf.js';
import { openPinned, pinFd, type MapRef } from './map-ops.js';
import { readEntries, writePlan, type PlannedRefs } from './maps.js';
import { readNames, removeAttachment, writeAttachment, type NamesState } from './names.js';
import { BpfObject } from './object.js';

export interface EbpfDatapathOptions {
  /** bpffs directory for maps (by name), programs (progs/) and tcx links (links/). */
  readonly pinRoot?: string;
  readonly objectPath?: string;
  /** sluice_ct max_entries; used only when the map is not pinned yet. */
  readonly ctEntries?: number;
  /** tcx links (kernel >= 6.6) or clsact filters; 'auto' probes tcx on the first interface. */
  readonly useTcx?: boolean | 'auto';
}

const PROGRAMS = { fromPod: 'sluice_from_pod', toPod: 'sluice_to_pod' } as const;

export class EbpfDatapath implements Datapath {
  readonly kind = 'ebpf';
  readonly pinRoot: string;
  private readonly objectPath: string;
  private obj: BpfObject | undefined;
  private mode: AttachMode | undefined;

  constructor(private readonly options: EbpfDatapathOptions = {}) {
    this.pinRoot = options.pinRoot ?? '/sys/fs/bpf/sluice';
    this.objectPath = options.objectPath ?? 'build/bpf/sluice.bpf.o';
    if (options.useTcx === true) this.mode = 'tcx';
    if (options.useTcx === false) this.mode = 'clsact';
  }

  apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
    return Promise.resolve().then(() => this.applySync(model, node));
  }

  cleanup(): Promise<void> {
    return Promise.resolve().then(() => this.cleanupSync());
  }

  close(): Promise<void> {
    this.obj?.close();
    this.obj = undefined;
    return Promise.resolve();
  }

  private applySync(model: CompiledPolicy, node: NodeContext): ApplyStats {
    const obj = this.load();
    const refs = this.refs(obj);
    const names = readNames(refs.names);
    const stats = writePlan(refs, plan(model, node, idsFromNames(names.rows)));
    this.syncAttachments(obj, refs.names, node, names);
    return stats;
  }

  private load(): BpfObject {
    if (this.obj !== undefined) return this.obj;
    mkdirSync(this.pinRoot, { recursive: true });
    const obj = BpfObject.open(this.objectPath, { pinRoot: this.pinRoot });
    try {
      const ct = this.options.ctEntries;
      if (ct !== undefined && !existsSync(`${this.pinRoot}/${L.MAPS.ct.name}`)) obj.setMaxEntries(L.MAPS.ct.name, ct);
      obj.load();
      this.pinPrograms(obj);
    } catch (err) {
      obj.close();
      throw err;
    }
    this.obj = obj;
    return obj;
  }

  /** For bpftool and inspection; attachments hold their own references. */
  private pinPrograms(obj: BpfObject): void {
    mkdirSync(`${this.pinRoot}/progs`, { recursive: true });
    for (const name of Object.values(PROGRAMS)) {
      const path = `${this.pinRoot}/progs/${name}`;
      rmSync(path, { force: true });
      pinFd(obj.programFd(name), path);
    }
  }

  private refs(obj: BpfObject): PlannedRefs {
    const ref = (spec: L.MapSpec): MapRef => ({ fd: obj.mapFd(spec.name), name: spec.name });
    return {
      names: ref(L.MAPS.names),
      hostAddrs: ref(L.MAPS.hostAddrs),
      peers: ref(L.MAPS.peers),
      policy: ref(L.MAPS.policy),
      endpoints: ref(L.MAPS.endpoints),
      config: ref(L.MAPS.config),
    };
  }

  private programs(obj: BpfObject): Programs {
    return { fromPod: obj.programFd(PROGRAMS.fromPod), toPod: obj.programFd(PROGRAMS.toPod) };
  }

  private attachMode(progs: Programs, ifaces: readonly string[]): AttachMode {
    if (this.mode === undefined) {
      const first = ifaces[0];
      if (first === undefined) return 'tcx';
      this.mode = probeTcx(first, progs.fromPod) ? 'tcx' : 'clsact';
    }
    return this.mode;
  }

  /** Attaches every listed interface (again: replacing atomically), detaches those no longer listed. */
  private syncAttachments(obj: BpfObject, names: MapRef, node: NodeContext, state: NamesState): void {
    const progs = this.programs(obj);
    const wanted = [...new Set(node.interfaces.values())].sort();
    const previous = new Map([...state.attachments].map(([iface, a]) => [iface, a.id]));
    const ids = assignIds(previous, wanted);
    const mode = this.attachMode(progs, wanted);
    for (const [iface, id] of ids) {
      const record = attach(this.pinRoot, iface, mode, progs, state.attachments.get(iface)?.record);
      writeAttachment(names, id, record);
    }
    for (const [iface, { id, record }] of state.attachments) {
      if (ids.has(iface)) continue;
      detach(this.pinRoot, record);
      removeAttachment(names, id);
    }
  }

  private cleanupSync(): void {
    const path = `${this.pinRoot}/${L.MAPS.names.name}`;
    if (existsSync(path)) {
      const fd = openPinned(path);
      try {
        const ref = { fd, name: L.MAPS.names.name };
        for (const { record } of readNames(ref).attachments.values()) detach(this.pinRoot, record);
      } finally {
        closeFd(fd);
      }
    }
    this.obj?.close();
    this.obj = undefined;
    this.removePins();
  }

  /** Removes sluice's own pins and directories under the pin root; anything else there stays. */
  private removePins(): void {
    for (const spec of Object.values(L.MAPS)) rmSync(`${this.pinRoot}/${spec.name}`, { force: true });
    for (const name of Object.values(PROGRAMS)) rmSync(`${this.pinRoot}/progs/${name}`, { force: true });
    const links = `${this.pinRoot}/links`;
    if (existsSync(links)) {
      for (const f of readdirSync(links)) if (/-(ingress|egress)$/.test(f)) rmSync(`${links}/${f}`, { force: true });
    }
    for (const dir of ['progs', 'links', '']) {
      const d = `${this.pinRoot}/${dir}`;
      if (existsSync(d) && readdirSync(d).length === 0) rmdirSync(d);
    }
  }
}

/** Entries of a pinned map by name, for inspection and tests. */
export function readPinnedMap(pinRoot: string, spec: L.MapSpec): ReturnType<typeof readEntries> {
  const fd = openPinned(`${pinRoot}/${spec.name}`);
  try {
    return readEntries({ fd, name: spec.name }, spec);
  } finally {
    closeFd(fd);
  }
}
