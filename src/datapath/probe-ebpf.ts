/**
 * What the eBPF datapath needs, each tried for real: maps of every type the
 * object uses are created and closed; sluice.bpf.o is loaded under a
 * temporary pin root that is removed afterwards; its program is attached
 * with clsact and with tcx to a veth of the probe's own network namespace and
 * run once through BPF_PROG_TEST_RUN. Imports koffi (through libbpf.ts), so
 * probe.ts loads this module lazily.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BpfObject } from './ebpf/object.js';
import { closeFd, errnoText, raw } from './ebpf/libbpf.js';
import { inNetns } from './ebpf/netns.js';
import { tcAttach, tcHookCreate, tcHookDestroy, tcxAttach } from './ebpf/tc.js';
import { progTestRun } from './ebpf/test-run.js';
import type { Need, ProbeCheck, ProbeOptions } from './probe.js';
import { kernelConntrackCheck } from './probe-kct.js';
import { runTool, toolError, type ProbeNetns } from './probe-netns.js';

const BPF_FS_MAGIC = 0xcafe4a11;
const BPF_F_NO_PREALLOC = 1;
const PROGRAM = 'sluice_from_pod';
const DEFAULT_OBJECT = 'build/bpf/sluice.bpf.o';

/** enum bpf_map_type values, key and value sizes, flags: one map of each type the object uses. */
const MAP_TYPES = [
  { name: 'map-hash', type: 1, key: 4, value: 4, entries: 1, flags: 0 },
  { name: 'map-percpu-hash', type: 5, key: 4, value: 8, entries: 1, flags: 0 },
  { name: 'map-percpu-array', type: 6, key: 4, value: 8, entries: 1, flags: 0 },
  { name: 'map-lru-hash', type: 9, key: 16, value: 8, entries: 16, flags: 0 },
  { name: 'map-lpm-trie', type: 11, key: 8, value: 4, entries: 1, flags: BPF_F_NO_PREALLOC },
  { name: 'map-ringbuf', type: 27, key: 0, value: 0, entries: 4096, flags: 0 },
] as const;

type Result = { readonly ok: boolean; readonly reason: string };
const pass = (reason: string): Result => ({ ok: true, reason });
const fail = (reason: string): Result => ({ ok: false, reason });

/** bpf(BPF_MAP_CREATE) of one map, closed at once; the errno when refused. */
function createMap(type: number, key: number, value: number, entries: number, flags: number): Result {
  const opts = Buffer.alloc(48);
  opts.writeBigUInt64LE(48n, 0);
  opts.writeUInt32LE(flags, 28);
  const fd = raw.mapCreate(type, 'sluice_probe', key, value, entries, opts) as number;
  if (fd < 0) return fail(errnoText(-fd));
  closeFd(fd);
  return pass('created and closed');
}

export function isBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

async function bpffsCheck(dir: string): Promise<Result> {
  if (isBpffs(dir)) return pass(`mounted at ${dir}`);
  // Tried in a private mount namespace that vanishes with the command.
  const r = await runTool('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'bpf', 'bpf', dir]);
  if (r.code === 0) return pass(`not mounted at ${dir}; mountable, the agent mounts it`);
  return fail(`not mounted at ${dir}, and mounting it failed: ${toolError(r)}`);
}

/** Mounts bpffs at `dir` unless it is there already (before the eBPF datapath pins anything). */
export async function ensureBpffs(dir: string): Promise<void> {
  if (isBpffs(dir)) return;
  const r = await runTool('mount', ['-t', 'bpf', 'bpf', dir]);
  if (r.code !== 0) throw new Error(`mount -t bpf bpf ${dir}: ${toolError(r)}`);
}

function btfCheck(): Result {
  const path = '/sys/kernel/btf/vmlinux';
  if (!existsSync(path)) return fail(`${path}: ENOENT (sluice.bpf.o uses no CO-RE; its own BTF still types the maps)`);
  return pass(`${path}, ${statSync(path).size} bytes`);
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Loads the object under a temporary pin root; returns it (or why not). */
/**
 * Where bpffs is not mounted (yet; the agent mounts it), the object is
 * loaded under a bpffs mounted for the probe on a temporary directory,
 * unmounted and removed afterwards.
 */
async function scratchBpffs(): Promise<{ dir: string; release: () => Promise<void> } | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-probe-bpffs-'));
  const release = async (): Promise<void> => {
    await runTool('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  };
  if ((await runTool('mount', ['-t', 'bpf', 'bpf', dir])).code === 0) return { dir, release };
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

function loadObject(objectPath: string, bpffs: string): { obj?: BpfObject; result: Result; pinRoot: string } {
  const pinRoot = `${bpffs}/sluice-probe-${process.pid}`;
  if (!existsSync(objectPath)) return { pinRoot, result: fail(`${objectPath}: ENOENT (run npm run build)`) };
  if (!isBpffs(bpffs)) return { pinRoot, result: fail(`not tried: no bpffs at ${bpffs}`) };
  let obj: BpfObject | undefined;
  try {
    mkdirSync(pinRoot, { recursive: true });
    obj = BpfObject.open(objectPath, { pinRoot });
    obj.load();
    return { obj, pinRoot, result: pass(`${objectPath} loaded and verified`) };
  } catch (err) {
    obj?.close();
    return { pinRoot, result: fail(message(err)) };
  }
}

function clsactCheck(netns: ProbeNetns, progFd: number): Result {
  return inNetns(netns.path, () => {
    const ifindex = raw.ifNameToIndex(netns.iface) as number;
    tcHookCreate(ifindex, netns.iface);
    try {
      tcAttach(ifindex, netns.iface, 'ingress', progFd);
      tcAttach(ifindex, netns.iface, 'egress', progFd);
    } finally {
      tcHookDestroy(ifindex, netns.iface);
    }
    return pass(`attached to ${netns.iface} ingress and egress in a temporary netns`);
  });
}

function tcxCheck(netns: ProbeNetns, progFd: number): Result {
  return inNetns(netns.path, () => {
    const ifindex = raw.ifNameToIndex(netns.iface) as number;
    closeFd(tcxAttach(ifindex, netns.iface, 'ingress', progFd));
    return pass(`linked to ${netns.iface} ingress in a temporary netns`);
  });
}

function testRunCheck(progFd: number): Result {
  const r = progTestRun(progFd, Buffer.alloc(64));
  return pass(`ran ${PROGRAM} on a 64-byte frame, retval ${r.retval}`);
}

/** Runs `fn`, turning a throw into a failed result. */
function attempt(fn: () => Result): Result {
  try {
    return fn();
  } catch (err) {
    return fail(message(err));
  }
}

export async function ebpfChecks(netns: ProbeNetns, options: ProbeOptions): Promise<ProbeCheck[]> {
  const bpffs = options.bpffs ?? '/sys/fs/bpf';
  const checks: ProbeCheck[] = [];
  const add = (name: string, need: Need, r: Result): void => {
    checks.push({ name, datapath: 'ebpf', need, ...r });
  };
  add(
    'bpf-syscall',
    'required',
    attempt(() => createMap(2, 4, 4, 1, 0)),
  );
  add('bpffs', 'required', await bpffsCheck(bpffs));
  add('kernel-btf', 'optional', btfCheck());
  // For --conntrack kernel (sluice-kct.bpf.o); without it the agent keeps flows in its own table.
  add('conntrack-kfuncs', 'optional', kernelConntrackCheck());
  for (const m of MAP_TYPES)
    add(
      m.name,
      'required',
      attempt(() => createMap(m.type, m.key, m.value, m.entries, m.flags)),
    );
  const scratch = isBpffs(bpffs) ? undefined : await scratchBpffs();
  const loaded = loadObject(options.objectPath ?? DEFAULT_OBJECT, scratch?.dir ?? bpffs);
  try {
    add('prog-load', 'required', loaded.result);
    const withProgram = (fn: (fd: number) => Result, needsNetns: boolean): Result => {
      if (loaded.obj === undefined) return fail('not tried: the object did not load');
      if (needsNetns && netns.path === undefined) return fail(`not tried: ${netns.error}`);
      const obj = loaded.obj;
      return attempt(() => fn(obj.programFd(PROGRAM)));
    };
    add(
      'tc-clsact',
      'any:attach',
      withProgram((fd) => clsactCheck(netns, fd), true),
    );
    add(
      'tcx',
      'any:attach',
      withProgram((fd) => tcxCheck(netns, fd), true),
    );
    add('prog-test-run', 'optional', withProgram(testRunCheck, false));
  } finally {
    loaded.obj?.close();
    attempt(() => {
      rmSync(loaded.pinRoot, { recursive: true, force: true });
      return pass('removed');
    });
    await scratch?.release();
  }
  return checks;
}
