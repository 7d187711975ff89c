/**
 * `sluice cleanup`: removes everything sluice created in the kernel, for
 * either datapath, and nothing else: eBPF pins, tcx links, cls_bpf filters
 * and the clsact qdiscs sluice created (as recorded in sluice_names); the
 * SLUICE-* chains, the jumps into them and the sluice-* ipsets. Idempotent;
 * prints what it removed.
 */
import { existsSync, readdirSync } from 'node:fs';

import type { CommandDef, FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';

export const cleanupCommand: CommandDef = {
  name: 'cleanup',
  summary:
    'Removes every kernel object sluice created (eBPF pins, tc filters and links, the clsact qdiscs it created, SLUICE iptables chains and sluice ipsets) and nothing else. Safe to run twice.',
  usage: 'sluice cleanup [--datapath ebpf|iptables|all] [--pin-root DIR]',
  flags: [
    {
      name: 'datapath',
      type: 'string',
      value: 'KIND',
      choices: ['ebpf', 'iptables', 'all'],
      default: 'all',
      help: 'which datapath to clean up',
    },
    {
      name: 'pin-root',
      type: 'string',
      value: 'DIR',
      default: '/sys/fs/bpf/sluice',
      env: 'SLUICE_PIN_ROOT',
      help: 'for eBPF: bpffs directory of the pinned maps, programs and links',
    },
    {
      name: 'netns',
      type: 'string',
      value: 'NAME',
      help: 'clean up interfaces and rules in this network namespace instead of the current one (tests and debugging)',
    },
  ],
};

function pinsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? pinsUnder(`${dir}/${d.name}`) : [`${dir}/${d.name}`],
  );
}

async function cleanupEbpf(pinRoot: string, netns: string | undefined): Promise<string[]> {
  if (!existsSync(pinRoot)) return [];
  const [{ EbpfDatapath }, L, { readNames }, { closeFd }, { openPinned }] = await Promise.all([
    import('../../datapath/ebpf/ebpf-datapath.js'),
    import('../../datapath/ebpf/layout.js'),
    import('../../datapath/ebpf/names.js'),
    import('../../datapath/ebpf/libbpf.js'),
    import('../../datapath/ebpf/map-ops.js'),
  ]);
  const removed: string[] = [];
  const namesPath = `${pinRoot}/${L.MAPS.names.name}`;
  if (existsSync(namesPath)) {
    const fd = openPinned(namesPath);
    try {
      for (const { record } of readNames({ fd, name: L.MAPS.names.name }).attachments.values()) {
        const what = [
          (record.flags & L.ATTACH_FLAGS.tcx) !== 0 ? 'tcx links' : undefined,
          (record.flags & L.ATTACH_FLAGS.clsact) !== 0 ? 'tc filters' : undefined,
          (record.flags & L.ATTACH_FLAGS.qdiscCreated) !== 0 ? 'clsact qdisc' : undefined,
        ].filter((x) => x !== undefined);
        removed.push(`ebpf: ${what.join(' + ')} on ${record.iface}`);
      }
    } finally {
      closeFd(fd);
    }
  }
  const before = new Set(pinsUnder(pinRoot));
  const dp = new EbpfDatapath({ pinRoot, ...(netns === undefined ? {} : { netns }) });
  try {
    await dp.cleanup();
  } finally {
    await dp.close();
  }
  const after = new Set(pinsUnder(pinRoot));
  for (const p of before) if (!after.has(p)) removed.push(`ebpf: pin ${p}`);
  if (!existsSync(pinRoot)) removed.push(`ebpf: directory ${pinRoot}`);
  return removed;
}

async function cleanupIptables(netns: string | undefined): Promise<string[]> {
  const [{ IptablesDatapath }, { readIptablesState }] = await Promise.all([
    import('../../datapath/iptables/iptables-datapath.js'),
    import('../../datapath/iptables/inspect.js'),
  ]);
  const opts = netns === undefined ? {} : { netns };
  const state = await readIptablesState(opts);
  if (state.sets.length + state.chains.length + state.jumps.length === 0) return [];
  await new IptablesDatapath(opts).cleanup();
  return [
    ...state.jumps.map((j) => `iptables: v${j.family} jump ${j.from} -> ${j.to}`),
    ...state.chains.map((c) => `iptables: v${c.family} chain ${c.name} (${c.rules} rules)`),
    ...state.sets.map((s) => `iptables: ipset ${s.name} (${s.members} members)`),
  ];
}

/** True when iptables and ipset can be run at all (an eBPF-only node may lack them). */
async function iptablesAvailable(netns: string | undefined): Promise<boolean> {
  const { CommandRunner } = await import('../../datapath/iptables/exec.js');
  try {
    const r = await new CommandRunner(netns).run('ipset', ['version'], { allowFailure: true });
    return r.code === 0;
  } catch {
    return false;
  }
}

export async function runCleanup(values: FlagValues, io: Io): Promise<number> {
  const kind = typeof values['datapath'] === 'string' ? values['datapath'] : 'all';
  const pinRoot = typeof values['pin-root'] === 'string' ? values['pin-root'] : '/sys/fs/bpf/sluice';
  const netns = typeof values['netns'] === 'string' ? values['netns'] : undefined;
  const removed: string[] = [];
  if (kind === 'ebpf' || kind === 'all') removed.push(...(await cleanupEbpf(pinRoot, netns)));
  if (kind === 'iptables' || (kind === 'all' && (await iptablesAvailable(netns)))) {
    removed.push(...(await cleanupIptables(netns)));
  }
  io.out(removed.length === 0 ? 'nothing to remove\n' : removed.map((r) => `removed ${r}\n`).join(''));
  return EXIT.OK;
}
