/**
 * PORTLESS on real packets through the iptables datapath (root only), for
 * every iptables backend that works here and both port-agnostic modes:
 * pods x/a, x/b, x/c on one routed node; a hand-built model isolates a's
 * ingress and allows class B (x/b) by a rule set of the row. ICMP echo is
 * a protocol without ports in both modes; GRE too, but only `netnet`
 * covers it (`expand` has ICMP echo only: port-segments.ts PortAgnostic).
 * Every probe of a row runs concurrently, so a DROP costs one timeout.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { IptablesVariant } from '../../src/datapath/iptables/exec.js';
import { IptablesDatapath } from '../../src/datapath/iptables/iptables-datapath.js';
import type { PortAgnostic } from '../../src/datapath/iptables/port-segments.js';
import { WORLD_CLASS, type CompiledPolicy, type PortMatch } from '../../src/model/compiled.js';
import { createNode, isRoot, type NodeNs, type PodNs } from '../support/netns.js';

const works = (bin: string): boolean => spawnSync(bin, ['-V'], { stdio: 'ignore' }).status === 0;
const variants: IptablesVariant[] = (['iptables-nft', 'iptables-legacy'] as const).filter((v) => works(v));
const MODES: readonly PortAgnostic[] = ['netnet', 'expand'];

/** Whether the kernel has ipset hash:net,net, tried in a namespace of its own (never the host's). */
function netnetSupported(): boolean {
  const ns = `sl-netnet-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns], { stdio: 'ignore' }).status !== 0) return false;
  try {
    const args = ['netns', 'exec', ns, 'ipset', 'create', 'sluice-probe-netnet', 'hash:net,net'];
    return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

function skipReason(mode: PortAgnostic): string | false {
  if (!isRoot()) return 'needs root: network namespaces and netfilter';
  if (mode === 'netnet' && !netnetSupported()) return 'the kernel lacks ipset hash:net,net (netnet mode)';
  return false;
}

const PORTLESS: PortMatch = { protocol: 'PORTLESS' };
const tcp = (from: number, to = from): PortMatch => ({ protocol: 'TCP', from, to });

/** a's ingress isolated with `ports` for class B (x/b's addresses); `undefined`: nothing isolated. */
function modelFor(n: NodeNs, ports: readonly PortMatch[] | undefined): CompiledPolicy {
  const open = { isolated: false, policies: [], ruleSet: undefined, audit: false };
  const b = n.pod('x/b');
  const isolated = { isolated: true, policies: ['x/portless'], ruleSet: 'portless', audit: false };
  return {
    nodeName: 'node-a',
    endpoints: [...n.pods.values()].map((p) => ({
      pod: p.id,
      ips: [p.v4, p.v6],
      ingress: p.id === 'x/a' && ports !== undefined ? isolated : open,
      egress: open,
    })),
    ruleSets: [{ key: 'portless', tuples: (ports ?? []).map((pm) => ({ peerClass: 'B', ports: pm, provenance: [] })) }],
    peerClasses: [
      { key: 'B', pods: ['x/b'] },
      { key: WORLD_CLASS, pods: [] },
    ],
    peerPrefixes: [
      { cidr: `${b.v4}/32`, family: 4, peerClass: 'B' },
      { cidr: `${b.v6}/128`, family: 6, peerClass: 'B' },
    ],
    warnings: [],
  };
}

const GRE = 47;

/**
 * One raw IPv4 packet of `proto` (a minimal GRE header: no flags, IPv4
 * payload type) from `from` to `to`: true when `to`'s raw socket gets it.
 */
async function rawDelivered(from: PodNs, to: PodNs, proto: number, timeoutMs = 700): Promise<boolean> {
  const recv =
    `use Socket; socket(my $s, PF_INET, SOCK_RAW, ${proto}) or die "socket: $!"; $| = 1; print "ready\\n";` +
    ` my $rin = ""; vec($rin, fileno($s), 1) = 1; exit(select($rin, undef, undef, ${timeoutMs / 1000}) > 0 ? 0 : 1)`;
  const receiver = spawn('ip', ['netns', 'exec', to.ns, 'perl', '-e', recv], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => receiver.on('close', resolve));
  try {
    const ready = await new Promise<boolean>((resolve) => {
      createInterface({ input: receiver.stdout }).once('line', () => resolve(true));
      receiver.once('close', () => resolve(false));
    });
    if (!ready) return false;
    const send =
      `use Socket; socket(my $s, PF_INET, SOCK_RAW, ${proto}) or die "socket: $!";` +
      ` send($s, "\\x00\\x00\\x08\\x00sluice", 0, pack_sockaddr_in(0, inet_aton("${to.v4}"))) or die "send: $!"`;
    const sent = spawnSync('ip', ['netns', 'exec', from.ns, 'perl', '-e', send], { stdio: 'ignore' });
    assert.equal(sent.status, 0, `raw send of protocol ${proto} from ${from.id}`);
    return (await exited) === 0;
  } finally {
    if (receiver.exitCode === null) receiver.kill('SIGKILL');
  }
}

type Probe = 'ping v4' | 'ping v6' | 'gre' | 'tcp/80' | 'tcp/443' | 'udp/53' | 'c: ping v4' | 'c: tcp/443';
type Want = Record<Probe, boolean | Record<PortAgnostic, boolean>>;

function probes(n: NodeNs): Record<Probe, () => Promise<boolean>> {
  const a = n.pod('x/a');
  const b = n.pod('x/b').agent;
  const c = n.pod('x/c').agent;
  return {
    'ping v4': () => b.ping(a.v4),
    'ping v6': () => b.ping(a.v6),
    gre: () => rawDelivered(n.pod('x/b'), a, GRE),
    'tcp/80': () => b.tcp(a.v4, 80),
    'tcp/443': () => b.tcp(a.v6, 443),
    'udp/53': () => b.udp(a.v4, 53),
    'c: ping v4': () => c.ping(a.v4),
    'c: tcp/443': () => c.tcp(a.v4, 443),
  };
}

const cases: { name: string; ports: readonly PortMatch[] | undefined; want: Want }[] = [
  {
    name: 'no policy: every probe passes',
    ports: undefined,
    want: {
      'ping v4': true,
      'ping v6': true,
      gre: true,
      'tcp/80': true,
      'tcp/443': true,
      'udp/53': true,
      'c: ping v4': true,
      'c: tcp/443': true,
    },
  },
  {
    name: 'PORTLESS only from b: ping passes, TCP and UDP are dropped, c is dropped',
    ports: [PORTLESS],
    want: {
      'ping v4': true,
      'ping v6': true,
      gre: { netnet: true, expand: false },
      'tcp/80': false,
      'tcp/443': false,
      'udp/53': false,
      'c: ping v4': false,
      'c: tcp/443': false,
    },
  },
  {
    name: 'PORTLESS + TCP 1-79 + TCP 81-65535 from b: ping and TCP/443 pass, TCP/80 and UDP are dropped',
    ports: [PORTLESS, tcp(1, 79), tcp(81, 65535)],
    want: {
      'ping v4': true,
      'ping v6': true,
      gre: { netnet: true, expand: false },
      'tcp/80': false,
      'tcp/443': true,
      'udp/53': false,
      'c: ping v4': false,
      'c: tcp/443': false,
    },
  },
];

async function assertClean(variant: IptablesVariant, n: NodeNs): Promise<void> {
  const six = variant.replace('iptables', 'ip6tables');
  for (const save of [`${variant}-save`, `${six}-save`]) {
    assert.doesNotMatch(await n.exec(save, ['-t', 'filter']), /SLUICE/, `${save} still shows SLUICE`);
  }
  assert.doesNotMatch(await n.exec('ipset', ['list', '-n']), /^sluice-/m, 'sluice- sets left behind');
}

for (const variant of variants) {
  for (const mode of MODES) {
    const skip = skipReason(mode);
    describe(`iptables PORTLESS (${variant}, ${mode})`, { skip }, () => {
      let node: NodeNs | undefined;
      let dp: IptablesDatapath | undefined;
      const ready = (): { n: NodeNs; d: IptablesDatapath } => {
        assert.ok(node !== undefined && dp !== undefined, 'node not set up');
        return { n: node, d: dp };
      };

      before(async () => {
        node = await createNode({
          topology: 'routed',
          pods: [{ id: 'x/a' }, { id: 'x/b' }, { id: 'x/c' }],
          natIptables: variant,
        });
        const a = node.pod('x/a').agent;
        await Promise.all([a.listen('tcp', 80), a.listen('tcp', 443), a.listen('udp', 53)]);
        dp = new IptablesDatapath({ iptables: variant, netns: node.name, portAgnostic: mode });
      });

      after(async () => {
        try {
          await dp?.cleanup();
          await dp?.close();
        } finally {
          await node?.destroy();
        }
      });

      for (const c of cases) {
        test(c.name, async () => {
          const { n, d } = ready();
          await d.apply(modelFor(n, c.ports), n.nodeContext);
          const run = probes(n);
          const names = Object.keys(c.want) as Probe[];
          const results = await Promise.all(names.map((p) => run[p]()));
          const want = names.map((p) => {
            const w = c.want[p];
            return [p, typeof w === 'boolean' ? w : w[mode]];
          });
          assert.deepEqual(
            names.map((p, i) => [p, results[i]]),
            want,
          );
        });
      }

      test(`cleanup removes every SLUICE chain and sluice- set${mode === 'netnet' ? ', <dir>-noport too' : ''}`, async () => {
        const { n, d } = ready();
        const sets = await n.exec('ipset', ['list', '-n']);
        assert.equal(/^sluice-ingress-noport-v4-[ab]$/m.test(sets), mode === 'netnet', sets);
        await d.cleanup();
        await assertClean(variant, n);
      });
    });
  }
}
