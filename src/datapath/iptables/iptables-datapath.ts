/**
 * The iptables + ipset datapath: runs what plan.ts computes. Per family it
 * fills the standby generation of sets, switches the SLUICE chains to it in
 * one iptables-restore commit, then destroys the previous generation (after
 * reading its final would-deny counters, audit.ts). apply, wouldDeny and
 * cleanup run one at a time, so a read never sees a generation half gone.
 */
import { DIRECTIONS, type CompiledPolicy } from '../../model/compiled.js';
import { ERROR_CODES, SluiceError } from '../../util/errors.js';
import type { ApplyStats, Datapath, NodeContext, WouldDenyCount } from '../types.js';
import { auditedAddresses, carryCounts, counterKey, parseSetCounters, wouldDenyRows } from './audit.js';
import { CommandRunner, failedIpsetObject, tools, type IptablesVariant } from './exec.js';
import { CHAIN_PREFIX, FAMILIES, JUMPS, nextPolicyMark, otherGeneration, parsePolicyMark } from './names.js';
import { parseSetName, setName, SET_PREFIX } from './names.js';
import type { Family, Generation } from './names.js';
import { planIptables, setSizes, type BuiltinChain, type IptablesPlan, type PortAgnostic } from './plan.js';

export interface IptablesDatapathOptions {
  /** Which iptables to drive; `iptables` is whatever the distribution links. Default `iptables`. */
  readonly iptables?: IptablesVariant;
  /** Run every command as `ip netns exec <netns> …` (tests; never the host's own rules). */
  readonly netns?: string;
  /** Families to program; default both. */
  readonly families?: readonly Family[];
  /** Skip the kernel probe for hash:net,net. */
  readonly portAgnostic?: PortAgnostic;
}

/** What the kernel holds for one family before an apply. */
interface FamilyState {
  readonly active: Generation | undefined;
  /** The policy mark of the SLUICE rules in the kernel, if any. */
  readonly policyMark: number | undefined;
  readonly missingJumps: readonly BuiltinChain[];
  readonly chains: readonly string[];
  readonly jumps: readonly { readonly from: string; readonly to: string }[];
}

/** What this instance last switched one family to. */
interface Programmed {
  readonly generation: Generation;
  readonly model: CompiledPolicy;
}

export class IptablesDatapath implements Datapath {
  readonly kind = 'iptables' as const;
  private readonly run: CommandRunner;
  private readonly variant: IptablesVariant;
  private readonly families: readonly Family[];
  private mode: PortAgnostic | undefined;
  private readonly lastElements = new Map<Family, number>();
  /** Per family: the generation the rules name and the model it holds. */
  private readonly programmed = new Map<Family, Programmed>();
  /** Per `family direction`: address → packets counted by earlier generations (audit.ts carryCounts). */
  private readonly carried = new Map<string, ReadonlyMap<string, number>>();
  /** The model of the last family switched: the endpoints wouldDeny reports. */
  private model: CompiledPolicy | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: IptablesDatapathOptions = {}) {
    this.run = new CommandRunner(opts.netns);
    this.variant = opts.iptables ?? 'iptables';
    this.families = opts.families ?? FAMILIES;
    this.mode = opts.portAgnostic;
  }

  apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
    return this.exclusive(() => this.applyNow(model, node));
  }

  /**
   * Would-deny packets per audited endpoint direction of the last applied
   * model, counted by the `<dir>-audit` sets' element counters of the active
   * generation plus what earlier generations counted: each apply creates
   * fresh sets, and the old ones' final counts are carried over in memory
   * while the same pod stays audited at the same address. So `packets`
   * counts since this instance programmed the endpoint direction as audited
   * (not merely since the last apply); it starts again from 0 when the
   * direction was not audited in between, after cleanup(), and in a new
   * process. Before any apply: [].
   */
  wouldDeny(): Promise<readonly WouldDenyCount[]> {
    return this.exclusive(() => this.wouldDenyNow());
  }

  cleanup(): Promise<void> {
    return this.exclusive(() => this.cleanupNow());
  }

  async close(): Promise<void> {}

  private async applyNow(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
    const mode = await this.portAgnostic();
    let written = 0;
    let removed = 0;
    const sizes: Record<string, number> = {};
    const existing = await this.listSets();
    for (const family of this.families) {
      const state = await this.readState(family);
      const generation = otherGeneration(state.active ?? 'b');
      const plan = planIptables(model, node, {
        generation,
        policyMark: nextPolicyMark(state.policyMark),
        portAgnostic: mode,
        families: [family],
        missingJumps: { [family]: state.missingJumps },
      });
      const ours = (gen: Generation): string[] =>
        existing.filter((n) => parseSetName(n)?.family === family && parseSetName(n)?.gen === gen);
      await this.destroySets(ours(generation));
      await this.switchTo(family, plan);
      await this.carryCounters(family, generation, model);
      this.programmed.set(family, { generation, model });
      this.model = model;
      const old = ours(otherGeneration(generation));
      await this.destroySets(old);
      const elements = plan.sets.reduce((n, s) => n + s.elements, 0);
      written += elements;
      removed += this.lastElements.get(family) ?? 0;
      this.lastElements.set(family, elements);
      Object.assign(sizes, setSizes(plan.sets));
    }
    return { written, removed, sizes };
  }

  private async wouldDenyNow(): Promise<WouldDenyCount[]> {
    if (this.model === undefined) return [];
    const counts = new Map<string, number>();
    for (const [family, p] of this.programmed) {
      for (const direction of DIRECTIONS) {
        if (auditedAddresses(this.model, direction, family).size === 0) continue;
        const kernel = await this.readCounters(setName(`${direction}-audit`, family, p.generation));
        const carried = this.carried.get(`${family} ${direction}`) ?? new Map<string, number>();
        for (const ip of new Set([...kernel.keys(), ...carried.keys()])) {
          counts.set(counterKey(direction, ip), (kernel.get(ip) ?? 0) + (carried.get(ip) ?? 0));
        }
      }
    }
    return wouldDenyRows(this.model, counts);
  }

  /**
   * Right after the commit that switched `family` to `generation`: the old
   * generation's audit sets are no longer referenced, so their counters are
   * final; what the same pod keeps being audited for is carried.
   */
  private async carryCounters(family: Family, generation: Generation, model: CompiledPolicy): Promise<void> {
    const prev = this.programmed.get(family);
    const old = prev?.generation === otherGeneration(generation) ? prev : undefined;
    for (const direction of DIRECTIONS) {
      const key = `${family} ${direction}`;
      const before = old === undefined ? new Map<string, string>() : auditedAddresses(old.model, direction, family);
      const after = auditedAddresses(model, direction, family);
      const final =
        old === undefined || before.size === 0 || after.size === 0
          ? new Map<string, number>()
          : await this.readCounters(setName(`${direction}-audit`, family, old.generation));
      this.carried.set(key, carryCounts(this.carried.get(key) ?? new Map<string, number>(), final, before, after));
    }
  }

  /** Element → packets of one counters set; empty when the set is gone (cleaned up behind our back). */
  private async readCounters(set: string): Promise<Map<string, number>> {
    const r = await this.run.run('ipset', ['save', set], { object: set, allowFailure: true });
    return r.code === 0 ? parseSetCounters(r.stdout) : new Map<string, number>();
  }

  /** Runs `fn` after every earlier apply, wouldDeny and cleanup has settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async cleanupNow(): Promise<void> {
    for (const family of this.families) {
      const state = await this.readState(family);
      const t = tools(this.variant, family);
      for (const j of state.jumps) {
        await this.run.run(t.main, ['-w', '-D', j.from, '-j', j.to], { object: `${j.from} → ${j.to}` });
      }
      if (state.chains.length > 0) {
        const text = ['*filter', ...state.chains.map((c) => `:${c} - [0:0]`), ...state.chains.map((c) => `-X ${c}`)];
        await this.restoreRules(family, `${[...text, 'COMMIT'].join('\n')}\n`, state.chains.join(', '));
      }
    }
    await this.destroySets(await this.listSets());
    this.lastElements.clear();
    this.programmed.clear();
    this.carried.clear();
    this.model = undefined;
  }

  /** Sets first (complete, unreferenced), then one commit of the rules; undone if the commit fails. */
  private async switchTo(family: Family, plan: IptablesPlan): Promise<void> {
    const names = plan.sets.map((s) => s.name);
    try {
      const r = await this.run.run('ipset', ['restore'], { stdin: plan.ipset, allowFailure: true });
      if (r.code !== 0) {
        const object = failedIpsetObject(r.stderr, plan.ipset) ?? names.join(', ');
        throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `ipset restore (${object}): ${r.stderr.trim()}`, { object });
      }
      await this.restoreRules(family, plan.rules[family] ?? '', 'SLUICE chains');
    } catch (e) {
      await this.destroySets(names, true);
      throw e;
    }
  }

  private async restoreRules(family: Family, text: string, object: string): Promise<void> {
    await this.run.run(tools(this.variant, family).restore, ['-w', '--noflush'], { stdin: text, object });
  }

  private async readState(family: Family): Promise<FamilyState> {
    const t = tools(this.variant, family);
    const { stdout } = await this.run.run(t.save, ['-t', 'filter'], { object: 'filter table' });
    const lines = stdout.split('\n');
    const chains = lines.filter((l) => l.startsWith(`:${CHAIN_PREFIX}`)).map((l) => l.slice(1).split(' ')[0] ?? '');
    const jumps = JUMPS.filter((j) => lines.includes(`-A ${j.from} -j ${j.to}`));
    const present = lines.flatMap((l) => [...jumpsIn(l)]);
    const missingJumps = JUMPS.filter((j) => !jumps.includes(j)).map((j) => j.from);
    const ours = lines.filter((l) => l.startsWith(`-A ${CHAIN_PREFIX}`));
    const gen = /sluice-[a-z-]+-v[46]-([ab])\b/.exec(ours.join('\n'));
    const active = gen?.[1] === 'a' ? 'a' : gen?.[1] === 'b' ? 'b' : undefined;
    const policyMark = ours.map(parsePolicyMark).find((m) => m !== undefined);
    return { active, policyMark, missingJumps, chains, jumps: present };
  }

  private async listSets(): Promise<string[]> {
    const { stdout } = await this.run.run('ipset', ['list', '-n'], { object: 'set list' });
    return stdout.split('\n').filter((n) => n.startsWith(SET_PREFIX));
  }

  private async destroySets(names: readonly string[], quiet = false): Promise<void> {
    for (const name of names) {
      await this.run.run('ipset', ['destroy', name], { object: name, allowFailure: quiet });
    }
  }

  /**
   * hash:net,net stores (endpoint, peer net) without a port. Kernels built
   * without it (CONFIG_IP_SET_HASH_NETNET unset) get port-range expansion.
   */
  private async portAgnostic(): Promise<PortAgnostic> {
    if (this.mode !== undefined) return this.mode;
    const probe = `${SET_PREFIX}probe-netnet`;
    const r = await this.run.run('ipset', ['create', probe, 'hash:net,net'], { allowFailure: true });
    if (r.code === 0) await this.run.run('ipset', ['destroy', probe], { object: probe });
    this.mode = r.code === 0 ? 'netnet' : 'expand';
    return this.mode;
  }
}

/** Every jump rule (`-A <builtin> -j SLUICE-*`) in one iptables-save line, so cleanup removes duplicates too. */
function* jumpsIn(line: string): Generator<{ from: string; to: string }> {
  const m = /^-A (FORWARD|INPUT|OUTPUT) -j (SLUICE-[A-Z0-9-]+)$/.exec(line);
  if (m !== null) yield { from: m[1] ?? '', to: m[2] ?? '' };
}
