/**
 * The iptables + ipset datapath: runs what plan.ts computes. Per family it
 * fills the standby generation of sets, switches the SLUICE chains to it in
 * one iptables-restore commit, then destroys the previous generation.
 */
import type { CompiledPolicy } from '../../model/compiled.js';
import { ERROR_CODES, SluiceError } from '../../util/errors.js';
import type { ApplyStats, Datapath, NodeContext } from '../types.js';
import { CommandRunner, failedIpsetObject, tools, type IptablesVariant } from './exec.js';
import { CHAIN_PREFIX, FAMILIES, JUMPS, nextPolicyMark, otherGeneration, parsePolicyMark } from './names.js';
import { parseSetName, SET_PREFIX } from './names.js';
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

export class IptablesDatapath implements Datapath {
  readonly kind = 'iptables' as const;
  private readonly run: CommandRunner;
  private readonly variant: IptablesVariant;
  private readonly families: readonly Family[];
  private mode: PortAgnostic | undefined;
  private readonly lastElements = new Map<Family, number>();

  constructor(opts: IptablesDatapathOptions = {}) {
    this.run = new CommandRunner(opts.netns);
    this.variant = opts.iptables ?? 'iptables';
    this.families = opts.families ?? FAMILIES;
    this.mode = opts.portAgnostic;
  }

  async apply(model: CompiledPolicy, node: NodeContext): Promise<ApplyStats> {
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

  async cleanup(): Promise<void> {
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
  }

  async close(): Promise<void> {}

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
