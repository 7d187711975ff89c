/**
 * The eBPF datapath: loads sluice.bpf.o with every map pinned under the pin
 * root (re-using pins that exist: that is how a restarted agent adopts the
 * previous one's state), writes the planner's diff, and attaches the tc
 * programs to the node's pod interfaces. State that must survive the
 * process (id assignments, what was attached where) lives in sluice_names.
 */

import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';

import { auditedSides, type CompiledPolicy, type Direction } from '../../model/compiled.js';
import type { ApplyStats, Datapath, NodeContext, WouldDenyCount } from '../types.js';
import {
  attach,
  detach,
  podHooks,
  probeTcx,
  uplinkHooks,
  type AttachMode,
  type AttachRecord,
  type Hook,
} from './attach.js';
import { plan, PLANNED_MAPS } from './encode.js';
import { upgradeCtKeys } from './ct-upgrade.js';
import { assignIds, idsFromNames, type IdState } from './ids.js';
import * as L from './layout.js';
import { closeFd } from './libbpf.js';
import { mapLookupPerCpu, openPinned, pinFd, type MapRef } from './map-ops.js';
import { PlannedMirror, readEntries, writePlan, type PlannedRefs } from './maps.js';
import { inNetns } from './netns.js';
import { readNames, removeAttachment, writeAttachment, type NamesState } from './names.js';
import { BpfObject } from './object.js';

export interface EbpfDatapathOptions {
  /** bpffs directory for maps (by name), programs (progs/) and tcx links (links/). */
  readonly pinRoot?: string;
  readonly objectPath?: string;
  /** sluice_ct and sluice_ct4 max_entries (each); used only when the map is not pinned yet. */
  readonly ctEntries?: number;
  /** tcx links (kernel >= 6.6) or clsact filters; 'auto' probes tcx on the first interface. */
  readonly useTcx?: boolean | 'auto';
  /**
   * The node's uplinks: sluice_to_remote runs at their tc egress and judges
   * the deferred egress of pods' packets to a Service VIP whose backend is
   * on another node. When absent, NodeContext.uplinks of each apply.
   */
  readonly uplinks?: readonly string[];
  /**
   * Network namespace (name under /run/netns, or a path) whose interfaces
   * are attached; default: the agent's own. Maps and pins are global.
   */
  readonly netns?: string;
  /** skb->mark bit for "egress verdict pending" (bpf/lib/service.h); 0 turns the deferral off. */
  readonly serviceMark?: number;
  /**
   * max_entries of the maps the agent fills, for nodes beyond the defaults
   * (4,096 endpoint addresses, 65,536 peer prefixes, policy rows and names);
   * used only for maps not pinned yet. sluice_stats follows endpoints (two
   * slots per endpoint id).
   */
  readonly capacity?: Readonly<Partial<Record<'endpoints' | 'peers' | 'policy' | 'names', number>>>;
}

const MODE_FLAG: Readonly<Record<AttachMode, number>> = { tcx: L.ATTACH_FLAGS.tcx, clsact: L.ATTACH_FLAGS.clsact };

const mapRef = (obj: BpfObject, spec: L.MapSpec): MapRef => ({ fd: obj.mapFd(spec.name), name: spec.name });

const PROGRAMS = { fromPod: 'sluice_from_pod', toPod: 'sluice_to_pod', toRemote: 'sluice_to_remote' } as const;

/** An audited endpoint direction and its sluice_would_deny slot; `base`: the slot's count when it became one. */
interface AuditedSlot {
  readonly pod: string;
  readonly direction: Direction;
  readonly id: number;
  readonly base: bigint;
}

/** One sluice_would_deny slot's packets, summed over CPUs. */
function wouldDenySlot(ref: MapRef, id: number, direction: Direction): bigint {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(L.statsIndex(id, L.DIRECTION[direction]));
  let packets = 0n;
  for (const slot of mapLookupPerCpu(ref, key, L.wouldDenyValue.size) ?? []) {
    packets += L.wouldDenyValue.decode(slot).packets;
  }
  return packets;
}

export class EbpfDatapath implements Datapath {
  readonly kind = 'ebpf';
  readonly pinRoot: string;
  private readonly objectPath: string;
  private obj: BpfObject | undefined;
  private mode: AttachMode | undefined;
  private readonly mirror = new PlannedMirror();
  /** Set once an apply has replaced the programs and moved older ct entries after it. */
  private ctUpgraded = false;
  /** Ids and attachments as the last apply left them in sluice_names. */
  private known: { ids: IdState; names: NamesState } | undefined;
  /** Audited directions of the last apply, with their endpoint ids (sluice_would_deny slots). */
  private audited: readonly AuditedSlot[] = [];

  constructor(private readonly options: EbpfDatapathOptions = {}) {
    this.pinRoot = options.pinRoot ?? '/sys/fs/bpf/sluice';
    this.objectPath = options.objectPath ?? 'build/bpf/sluice.bpf.o';
    if (options.useTcx === true) this.mode = 'tcx';
    if (options.useTcx === false) this.mode = 'clsact';
  }

  apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
    return Promise.resolve().then(() => inNetns(this.options.netns, () => this.applySync(model, node)));
  }

  cleanup(): Promise<void> {
    return Promise.resolve().then(() => inNetns(this.options.netns, () => this.cleanupSync()));
  }

  close(): Promise<void> {
    this.mirror.forget();
    this.known = undefined;
    this.obj?.close();
    this.obj = undefined;
    return Promise.resolve();
  }

  /**
   * sluice_would_deny of the audited directions, summed over CPUs, counted
   * since this process programmed the direction as audited for that pod (an
   * endpoint id another pod used before starts from its count then).
   */
  wouldDeny(): Promise<readonly WouldDenyCount[]> {
    const obj = this.obj;
    if (obj === undefined || this.audited.length === 0) return Promise.resolve([]);
    const ref = mapRef(obj, L.MAPS.wouldDeny);
    return Promise.resolve(
      this.audited.map(({ pod, direction, id, base }) => {
        const packets = wouldDenySlot(ref, id, direction) - base;
        return { pod, direction, packets: Number(packets > 0n ? packets : 0n) };
      }),
    );
  }

  /** The audited directions of `model` with their ids; a direction new to this list gets its slot's count as base. */
  private auditedSlots(obj: BpfObject, model: CompiledPolicy, ids: IdState): AuditedSlot[] {
    const before = new Map(this.audited.map((a) => [`${a.pod} ${a.direction} ${a.id}`, a.base]));
    const ref = mapRef(obj, L.MAPS.wouldDeny);
    return auditedSides(model).map(({ endpoint: { pod }, direction }) => {
      const id = ids.endpoint.get(pod) ?? 0;
      const base = before.get(`${pod} ${direction} ${id}`) ?? wouldDenySlot(ref, id, direction);
      return { pod, direction, id, base };
    });
  }

  private applySync(model: CompiledPolicy, node: NodeContext): ApplyStats {
    const obj = this.load();
    const refs = this.refs(obj);
    // ct entries an older release keyed its way: moved around the program replacement (ct-upgrade.ts).
    const upgradeCt = (): void => {
      if (!this.ctUpgraded) upgradeCtKeys(mapRef(obj, L.MAPS.ct4), mapRef(obj, L.MAPS.ct));
    };
    upgradeCt();
    // While the mirror is trusted, sluice_names holds what this process left: skip reading it back.
    const known = this.mirror.trusted(refs) ? this.known : undefined;
    this.known = undefined;
    let names = known?.names ?? readNames(refs.names);
    const p = plan(model, node, known?.ids ?? idsFromNames(names.rows));
    const audited = this.auditedSlots(obj, model, p.ids);
    let attachments: NamesState['attachments'] | undefined;
    // Programs are (re)attached between the upserts and the deletes: after an
    // upgrade that moves entries between maps, old and new programs both
    // find theirs at every moment.
    const stats = writePlan(refs, p, this.mirror, () => {
      if (known !== undefined && this.mirror.readBack) names = readNames(refs.names);
      attachments = this.syncAttachments(obj, refs.names, node, names);
      upgradeCt();
    });
    this.known = { ids: p.ids, names: { rows: [], attachments: attachments ?? new Map() } };
    this.audited = audited;
    this.ctUpgraded = true;
    return stats;
  }

  private load(): BpfObject {
    if (this.obj !== undefined) return this.obj;
    mkdirSync(this.pinRoot, { recursive: true });
    const obj = BpfObject.open(this.objectPath, { pinRoot: this.pinRoot });
    try {
      const ct = this.options.ctEntries;
      const sized: [L.MapSpec, number | undefined][] = [[L.MAPS.ct, ct], [L.MAPS.ct4, ct], ...this.capacityEntries()];
      for (const [{ name }, n] of sized) {
        if (n !== undefined && !existsSync(`${this.pinRoot}/${name}`)) obj.setMaxEntries(name, n);
      }
      if (this.options.serviceMark !== undefined) {
        const mark = Buffer.alloc(4);
        mark.writeUInt32LE(this.options.serviceMark);
        obj.setGlobal('service_mark', mark);
      }
      obj.load();
      this.pinPrograms(obj);
    } catch (err) {
      obj.close();
      throw err;
    }
    this.obj = obj;
    return obj;
  }

  private capacityEntries(): [L.MapSpec, number | undefined][] {
    const c = this.options.capacity ?? {};
    const stats = c.endpoints === undefined ? undefined : Math.max(16384, 2 * (c.endpoints + 1));
    return [
      [L.MAPS.endpoints, c.endpoints],
      [L.MAPS.stats, stats],
      [L.MAPS.peers, c.peers],
      [L.MAPS.peerAddrs, c.peers],
      [L.MAPS.policy, c.policy],
      [L.MAPS.policyPorts, c.policy],
      [L.MAPS.names, c.names],
    ];
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
    const ref = (spec: L.MapSpec) => ({ ...mapRef(obj, spec), maxEntries: obj.maxEntries(spec.name) });
    const names = [...PLANNED_MAPS, 'config'] as const;
    return Object.fromEntries(names.map((m) => [m, ref(L.MAPS[m] as L.MapSpec)])) as PlannedRefs;
  }

  /** Hooks per interface: pods' host veths and the uplinks. */
  private wantedHooks(obj: BpfObject, node: NodeContext): Map<string, Hook[]> {
    const fd = (name: string): number => obj.programFd(name);
    const out = new Map<string, Hook[]>();
    for (const iface of [...node.interfaces.values()].sort()) {
      out.set(iface, podHooks(fd(PROGRAMS.fromPod), fd(PROGRAMS.toPod)));
    }
    for (const iface of this.options.uplinks ?? node.uplinks ?? []) {
      // A pod interface keeps its pod hooks.
      if (!out.has(iface)) out.set(iface, uplinkHooks(fd(PROGRAMS.toRemote)));
    }
    return out;
  }

  private attachMode(obj: BpfObject, ifaces: readonly string[]): AttachMode {
    if (this.mode === undefined) {
      const first = ifaces[0];
      if (first === undefined) return 'tcx';
      this.mode = probeTcx(first, obj.programFd(PROGRAMS.fromPod)) ? 'tcx' : 'clsact';
    }
    return this.mode;
  }

  /** Attaches every listed interface (again: replacing atomically), detaches those no longer listed. */
  private syncAttachments(
    obj: BpfObject,
    names: MapRef,
    node: NodeContext,
    state: NamesState,
  ): NamesState['attachments'] {
    const wanted = this.wantedHooks(obj, node);
    const previous = new Map([...state.attachments].map(([iface, a]) => [iface, a.id]));
    const ids = assignIds(previous, wanted.keys());
    const mode = this.attachMode(obj, [...wanted.keys()]);
    const failures: unknown[] = [];
    const after = new Map<string, { id: number; record: AttachRecord }>();
    for (const [iface, hooks] of wanted) {
      const id = ids.get(iface) ?? 0;
      const previousRecord = state.attachments.get(iface)?.record;
      try {
        // Recorded before touching the interface, so a crash in between still leaves cleanup a trace.
        if (previousRecord === undefined) writeAttachment(names, id, { iface, flags: MODE_FLAG[mode] });
        const record = attach(this.pinRoot, iface, mode, hooks, previousRecord);
        writeAttachment(names, id, record);
        after.set(iface, { id, record });
      } catch (err) {
        failures.push(err);
      }
    }
    for (const [iface, { id, record }] of state.attachments) {
      if (wanted.has(iface)) continue;
      detach(this.pinRoot, record);
      removeAttachment(names, id);
    }
    // One missing interface must not keep the others unenforced: attach all, then report.
    if (failures.length > 0) throw failures[0];
    return after;
  }

  private cleanupSync(): void {
    this.mirror.forget();
    this.known = undefined;
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
