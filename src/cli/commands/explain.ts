import { describeProvenance } from '../../compiler/describe.js';
import { addressPair } from '../../compiler/reachability.js';
import { compile, podId } from '../../compiler/compile.js';
import { evaluateFlow, type FlowProtocol, type FlowVerdict, type SideVerdict } from '../../compiler/verdict.js';
import type { ClusterSnapshot, Pod } from '../../model/k8s.js';
import { loadManifestPaths } from '../../source/manifest-files.js';
import { UsageError } from '../../util/errors.js';
import { listFlag, stringFlag, type CommandDef, type FlagValues } from '../flags.js';
import { EXIT, type Io } from '../io.js';
import { compileOptionsOf, enforcementFlag, reportWarnings, requirePaths } from './common.js';
import ipaddr from 'ipaddr.js';

export const explainCommand: CommandDef = {
  name: 'explain',
  summary:
    'Explain the verdict for one flow: which policies select each side, and which rule allows it, or that none does (or, for audited policies, that they would deny it); for ClusterNetworkPolicies, the tier, priority and rule that decided.',
  usage:
    'sluice explain -f PATH [-f PATH ...] --from ns/pod|IP --to ns/pod|IP --port N/PROTO [--enforcement policy|audit] [--output text|json]',
  flags: [
    {
      name: 'file',
      short: 'f',
      type: 'list',
      value: 'PATH',
      help: 'YAML file or directory of manifests',
      required: true,
    },
    { name: 'from', type: 'string', value: 'SRC', help: 'source pod (namespace/name) or IP address', required: true },
    {
      name: 'to',
      type: 'string',
      value: 'DST',
      help: 'destination pod (namespace/name) or IP address',
      required: true,
    },
    {
      name: 'port',
      type: 'string',
      value: 'N/PROTO',
      help: 'destination port and protocol: 80/TCP, 53/UDP, 9/SCTP, or ICMP',
      required: true,
    },
    enforcementFlag,
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'FORMAT',
      help: 'output format',
      choices: ['text', 'json'],
      default: 'text',
    },
  ],
};

export function parsePortProto(text: string): { protocol: FlowProtocol; port: number } {
  const upper = text.toUpperCase();
  if (upper === 'ICMP') return { protocol: 'ICMP', port: 0 };
  const m = /^(\d+)(?:\/(TCP|UDP|SCTP))?$/.exec(upper);
  const port = m === null ? NaN : Number(m[1]);
  if (m === null || port < 1 || port > 65535) {
    throw new UsageError(`explain: --port must look like 80/TCP, 53/UDP, 9/SCTP or ICMP (port 1-65535), got '${text}'`);
  }
  return { protocol: (m[2] ?? 'TCP') as FlowProtocol, port };
}

interface Party {
  readonly label: string;
  readonly pod: Pod | undefined;
  readonly ip: string | undefined;
}

function party(snapshot: ClusterSnapshot, who: string, flag: string): Party {
  if (ipaddr.isValid(who)) return { label: who, pod: undefined, ip: ipaddr.parse(who).toString() };
  const pod = snapshot.pods.find((p) => podId(p) === who);
  if (pod === undefined)
    throw new UsageError(`explain: --${flag} ${who} is neither an IP address nor a pod in the manifests`);
  if (pod.ips.length === 0) throw new UsageError(`explain: --${flag} pod ${who} has no address (status.podIP)`);
  return { label: who, pod, ip: undefined };
}

function resolvePair(from: Party, to: Party): [string, string] {
  if (from.ip !== undefined && to.ip !== undefined) return [from.ip, to.ip];
  const ipsOf = (p: Party): readonly string[] => p.pod?.ips ?? (p.ip === undefined ? [] : [p.ip]);
  const pair = addressPair(ipsOf(from), ipsOf(to));
  if (pair === undefined) throw new UsageError(`explain: ${from.label} and ${to.label} share no address family`);
  return pair;
}

function sideText(
  name: string,
  side: SideVerdict,
  direction: 'egress' | 'ingress',
  snapshot: ClusterSnapshot,
): string[] {
  if (side.endpoint === undefined) return [`${direction} of ${name}: not a pod sluice enforces; nothing to check`];
  if (!side.isolated)
    return [`${direction} of ${side.endpoint}: not isolated (no policy selects it for ${direction}): allowed`];
  const cnps = snapshot.clusterPolicies ?? [];
  const head = `${direction} of ${side.endpoint}: ${side.tiers ? 'judged by' : 'isolated by'} ${side.policies.join(', ')}${side.audit ? ' (audit)' : ''}`;
  if (side.reason !== undefined)
    return [head, `  allowed by ${describeProvenance(side.reason, snapshot.policies, cnps)}`];
  if (side.tiers && side.allowed)
    return [
      head,
      '  allowed: no rule of the Admin tier, NetworkPolicy or the Baseline tier decides it (default allow)',
    ];
  if (side.denial !== undefined)
    return [head, `  denied by ${describeProvenance(side.denial, snapshot.policies, cnps)}`];
  if (side.tiers) {
    return [
      head,
      `  denied in the NetworkPolicy tier: NetworkPolicies select the pod for ${direction} and none of their rules matches this peer and port`,
    ];
  }
  const none = `no ${direction} rule of those policies matches this peer and port`;
  if (side.wouldDeny) return [head, `  would deny (audit): ${none}; audit lets it pass`];
  return [head, `  denied: ${none}`];
}

/** `ALLOWED`, `DENIED`, or `WOULD DENY (audit) by ns/a, ns/b (the packet passes)`. */
export function outcomeText(v: FlowVerdict): string {
  if (v.outcome === 'would-deny') return `WOULD DENY (audit) by ${v.wouldDenyBy.join(', ')} (the packet passes)`;
  return v.allowed ? 'ALLOWED' : 'DENIED';
}

export function explainText(
  v: FlowVerdict,
  from: Party,
  to: Party,
  pair: [string, string],
  what: string,
  snapshot: ClusterSnapshot,
): string {
  const lines = [`${from.label} (${pair[0]}) -> ${to.label} (${pair[1]}) ${what}: ${outcomeText(v)}`];
  if (v.self) lines.push('source and destination are the same pod: traffic never leaves it, so no policy applies');
  else
    lines.push(
      ...sideText(from.label, v.egress, 'egress', snapshot),
      ...sideText(to.label, v.ingress, 'ingress', snapshot),
    );
  return lines.join('\n') + '\n';
}

export async function runExplain(values: FlagValues, io: Io): Promise<number> {
  const paths = requirePaths(explainCommand, listFlag(values, 'file'));
  const { protocol, port } = parsePortProto(stringFlag(values, 'port'));
  const loaded = await loadManifestPaths(paths);
  reportWarnings(loaded.warnings, io);
  const from = party(loaded.snapshot, stringFlag(values, 'from'), 'from');
  const to = party(loaded.snapshot, stringFlag(values, 'to'), 'to');
  const pair = resolvePair(from, to);
  const model = compile(loaded.snapshot, undefined, compileOptionsOf(values));
  reportWarnings(model.warnings, io);
  const verdict = evaluateFlow(model, { src: pair[0], dst: pair[1], protocol, port });
  const what = protocol === 'ICMP' ? 'ICMP' : `${protocol}/${port}`;
  if (values['output'] === 'json') {
    const describe = (s: SideVerdict) => ({
      ...s,
      reasonText: s.reason && describeProvenance(s.reason, loaded.snapshot.policies, loaded.snapshot.clusterPolicies),
      denialText: s.denial && describeProvenance(s.denial, loaded.snapshot.policies, loaded.snapshot.clusterPolicies),
    });
    io.out(
      JSON.stringify({
        from: from.label,
        to: to.label,
        src: pair[0],
        dst: pair[1],
        protocol,
        port,
        allowed: verdict.allowed,
        outcome: verdict.outcome,
        wouldDeny: verdict.wouldDeny,
        wouldDenyBy: verdict.wouldDenyBy,
        self: verdict.self,
        egress: describe(verdict.egress),
        ingress: describe(verdict.ingress),
      }) + '\n',
    );
  } else {
    io.out(explainText(verdict, from, to, pair, what, loaded.snapshot));
  }
  return EXIT.OK;
}
