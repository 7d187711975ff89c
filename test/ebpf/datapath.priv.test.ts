/**
 * EbpfDatapath with real packets: a node network namespace and three pod
 * namespaces (a, b, c) on veths, routed /32s, the host side of each veth in
 * the node. Every apply runs a fresh agent process inside the node namespace
 * (netns-agent.ts), so each one also adopts the previous agent's pins; the
 * programs keep enforcing between agents. Run once with tcx links and once
 * with clsact filters.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { ApplyStats } from '../../src/datapath/types.js';
import type { ClusterSnapshot, NetworkPolicy } from '../../src/model/k8s.js';
import {
  cluster,
  egress,
  ingress,
  ipPeer,
  ns,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
  selecting,
} from '../compiler/builders.js';
import type { AgentRequest } from './netns-agent.js';
import { ensureObject } from './btf-dump.js';

const skip = process.getuid?.() === 0 ? false : 'needs root: network namespaces, veths, tc and /sys/fs/bpf';

const AGENT = fileURLToPath(new URL('./netns-agent.ts', import.meta.url));
const TAG = `${process.pid % 100000}`;
const NODE_NS = `sl-node-${TAG}`;
const HOST = '10.213.0.1';
const PODS = { a: '10.213.1.1', b: '10.213.1.2', c: '10.213.1.3' } as const;
/** A host behind the node's uplink (slr…): a backend on another node. */
const REMOTE = '10.213.2.1';
const VIP = '10.96.0.10';
const SERVICE_CIDR = '10.96.0.0/16';
const HOSTS = { ...PODS, r: REMOTE } as const;
type PodName = keyof typeof PODS;
type HostName = keyof typeof HOSTS;
const podNs = (p: HostName): string => `sl-${p}-${TAG}`;
const hostIf = (p: HostName): string => `sl${p}${TAG}`;

function sh(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
const inNs = (netns: string, ...cmd: string[]): string => sh('ip', ['netns', 'exec', netns, ...cmd]);

function setupTopology(): void {
  sh('ip', ['netns', 'add', NODE_NS]);
  inNs(NODE_NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  inNs(NODE_NS, 'ip', 'link', 'set', 'lo', 'up');
  inNs(NODE_NS, 'ip', 'addr', 'add', `${HOST}/32`, 'dev', 'lo');
  for (const p of Object.keys(HOSTS) as HostName[]) {
    const netns = podNs(p);
    sh('ip', ['netns', 'add', netns]);
    inNs(NODE_NS, 'ip', 'link', 'add', hostIf(p), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    inNs(NODE_NS, 'ip', 'addr', 'add', '169.254.1.1/32', 'dev', hostIf(p));
    inNs(NODE_NS, 'ip', 'link', 'set', hostIf(p), 'up');
    inNs(NODE_NS, 'ip', 'route', 'add', `${HOSTS[p]}/32`, 'dev', hostIf(p), 'src', HOST);
    inNs(netns, 'ip', 'link', 'set', 'lo', 'up');
    inNs(netns, 'ip', 'addr', 'add', `${HOSTS[p]}/32`, 'dev', 'eth0');
    inNs(netns, 'ip', 'link', 'set', 'eth0', 'up');
    inNs(netns, 'ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
    inNs(netns, 'ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
  }
}

function teardownTopology(): void {
  for (const netns of [NODE_NS, ...(Object.keys(HOSTS) as HostName[]).map(podNs)]) {
    try {
      sh('ip', ['netns', 'del', netns]);
    } catch {
      // not created
    }
  }
}

/** Echo servers on TCP 80 and 8080 in every pod and the remote host: they answer their name. */
const servers: ChildProcess[] = [];
function startServers(): void {
  for (const p of Object.keys(HOSTS) as HostName[]) {
    for (const listen of ['TCP-LISTEN:80,fork,reuseaddr', 'TCP-LISTEN:8080,fork,reuseaddr']) {
      const child = spawn('ip', ['netns', 'exec', podNs(p), 'socat', listen, `SYSTEM:echo ${p}`], { stdio: 'ignore' });
      servers.push(child);
    }
  }
}

/** A TCP connection from `netns` to `dst`: the server's answer, or '' when it timed out. */
function connect(netns: string, dst: string, dstPort: number): string {
  try {
    return inNs(netns, 'socat', '-T1', '-', `TCP:${dst}:${dstPort},connect-timeout=1`).trim();
  } catch {
    return '';
  }
}

const PING_PY = `
import socket, struct, sys
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1)
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
body = struct.pack('!BBHHH', 8, 0, 0, 0x51ce, 1) + b'sluice!!'
s.sendto(struct.pack('!BBHHH', 8, 0, csum(body), 0x51ce, 1) + b'sluice!!', (dst, 0))
try:
    while True:
        data, addr = s.recvfrom(1500)
        if addr[0] == dst and data[20] == 0:
            print('pong'); break
except socket.timeout:
    print('')
`;
function ping(netns: string, dst: string): boolean {
  return inNs(netns, 'python3', '-c', PING_PY, dst).trim() === 'pong';
}

function agent(req: Omit<AgentRequest, 'objectPath' | 'pinRoot' | 'useTcx'>, mode: Mode): ApplyStats {
  const full: AgentRequest = { ...req, objectPath: ensureObject(), pinRoot: mode.pinRoot, useTcx: mode.useTcx };
  const out = sh(
    'nsenter',
    [`--net=/run/netns/${NODE_NS}`, process.execPath, '--import', 'tsx', AGENT],
    JSON.stringify(full),
  );
  return JSON.parse(out) as ApplyStats;
}

const NAMESPACES = [ns('x')];
const POD_LIST = (Object.keys(PODS) as PodName[]).map((p) => pod(`x/${p}`, PODS[p], { app: p }));
const snapshot = (...policies: NetworkPolicy[]): ClusterSnapshot => cluster(NAMESPACES, POD_LIST, policies);
const apply = (mode: Mode, ...policies: NetworkPolicy[]): ApplyStats =>
  agent(
    {
      op: 'apply',
      snapshot: snapshot(...policies),
      hostAddresses: [HOST],
      interfaces: (Object.keys(PODS) as PodName[]).map((p) => [`x/${p}`, hostIf(p)] as const),
      serviceCidrs: [SERVICE_CIDR],
      uplinks: [hostIf('r')],
    },
    mode,
  );

/**
 * kube-proxy's part: VIP:80 DNATed in nat PREROUTING of the node to b, c and
 * the remote host in turn (one per new connection).
 */
function addServiceDnat(): void {
  const backends = [PODS.b, PODS.c, REMOTE];
  backends.forEach((ip, i) => {
    const nth =
      i < backends.length - 1
        ? ['-m', 'statistic', '--mode', 'nth', '--every', `${backends.length - i}`, '--packet', '0']
        : [];
    inNs(
      NODE_NS,
      'iptables',
      '-t',
      'nat',
      '-A',
      'PREROUTING',
      '-d',
      `${VIP}/32`,
      '-p',
      'tcp',
      '--dport',
      '80',
      ...nth,
      '-j',
      'DNAT',
      '--to-destination',
      `${ip}:80`,
    );
  });
}

/** Answers of `n` connections from a to the VIP, sorted ('' = timed out). */
function viaService(n: number): string[] {
  return Array.from({ length: n }, () => connect(podNs('a'), VIP, 80)).sort();
}

const only = (p: PodName) => selecting(sel({ app: p }));
const DENY_B_IN = policy('x/deny-b', only('b'), ingress());
const A_TO_B_80 = policy('x/a-to-b', only('b'), ingress(rule([podPeer(sel({ app: 'a' }))], [port(80)])));
const DENY_B_OUT = policy('x/deny-b-out', only('b'), egress());
const PING_C = policy('x/ping-c', only('c'), ingress(rule([ipPeer('10.213.1.0/24')])));
const TCP_C = policy('x/tcp-c', only('c'), ingress(rule(undefined, [port(80)])));
const A_OUT_TO_B = policy('x/a-out-b', only('a'), egress(rule([podPeer(sel({ app: 'b' }))], [port(80)])));
const A_OUT_TO_REMOTE = policy('x/a-out-r', only('a'), egress(rule([ipPeer('10.213.2.0/24')], [port(80)])));

interface Mode {
  readonly name: string;
  readonly useTcx: boolean;
  readonly pinRoot: string;
}
const MODES: Mode[] = [
  { name: 'tcx', useTcx: true, pinRoot: `/sys/fs/bpf/sluice-test-${process.pid}-tcx` },
  { name: 'clsact', useTcx: false, pinRoot: `/sys/fs/bpf/sluice-test-${process.pid}-clsact` },
];

if (skip === false) {
  before(() => {
    teardownTopology();
    setupTopology();
    startServers();
    addServiceDnat();
    // Servers need a moment to listen.
    execFileSync('sleep', ['0.3']);
  });
  after(() => {
    for (const s of servers) s.kill();
    for (const m of MODES) {
      try {
        agent({ op: 'cleanup' }, m);
      } catch {
        // best effort; the netns goes anyway
      }
    }
    teardownTopology();
  });
}

function pinsOf(pinRoot: string): string[] {
  return existsSync(pinRoot) ? sh('find', [pinRoot, '-mindepth', '1']).trim().split('\n').filter(Boolean) : [];
}

function progIds(pinRoot: string): number[] {
  return ['sluice_from_pod', 'sluice_to_pod', 'sluice_to_remote'].flatMap((name) => {
    const path = `${pinRoot}/progs/${name}`;
    if (!existsSync(path)) return [];
    return [(JSON.parse(sh('bpftool', ['-j', 'prog', 'show', 'pinned', path])) as { id: number }).id];
  });
}

/**
 * Hooks running one of `ids` in the node namespace: tcx links by program id
 * (bpftool 7.1 shows no ifindex for them), cls_bpf filters by name.
 */
function hooks(mode: Mode, ids: readonly number[]): number {
  if (mode.useTcx) {
    const links = JSON.parse(sh('bpftool', ['-j', 'link', 'show'])) as { prog_id?: number }[];
    return links.filter((l) => l.prog_id !== undefined && ids.includes(l.prog_id)).length;
  }
  let n = 0;
  for (const p of Object.keys(HOSTS) as HostName[]) {
    for (const point of ['ingress', 'egress']) {
      if (/sluice_(from_pod|to_pod|to_remot)/.test(inNs(NODE_NS, 'tc', 'filter', 'show', 'dev', hostIf(p), point))) n++;
    }
  }
  return n;
}
const qdiscs = (): string => inNs(NODE_NS, 'tc', 'qdisc', 'show');

for (const mode of MODES) {
  const t = (name: string, fn: () => void): void => {
    test(`${mode.name}: ${name}`, { skip }, fn);
  };

  t('no policy: pods reach each other', () => {
    apply(mode);
    assert.equal(connect(podNs('a'), PODS.b, 80), 'b');
    assert.equal(connect(podNs('c'), PODS.a, 8080), 'a');
    assert.ok(ping(podNs('a'), PODS.c));
    assert.equal(hooks(mode, progIds(mode.pinRoot)), 7, 'both hooks of three pods, egress of the uplink');
  });

  t('default deny ingress blocks TCP; the isolated pod still opens flows and gets replies', () => {
    apply(mode, DENY_B_IN);
    assert.equal(connect(podNs('a'), PODS.b, 80), '');
    assert.equal(connect(podNs('c'), PODS.b, 8080), '');
    assert.equal(connect(podNs('b'), PODS.a, 80), 'a', 'reply of an allowed connection passes b ingress');
  });

  t('allow by pod selector and port passes; other peers and ports do not', () => {
    apply(mode, DENY_B_IN, A_TO_B_80);
    assert.equal(connect(podNs('a'), PODS.b, 80), 'b');
    assert.equal(connect(podNs('a'), PODS.b, 8080), '');
    assert.equal(connect(podNs('c'), PODS.b, 80), '');
  });

  t('egress isolated: reply of an allowed connection passes, a reverse new connection is denied', () => {
    apply(mode, A_TO_B_80, DENY_B_OUT);
    assert.equal(connect(podNs('a'), PODS.b, 80), 'b');
    assert.equal(connect(podNs('b'), PODS.a, 80), '');
    assert.equal(ping(podNs('b'), PODS.a), false);
  });

  t('ICMP is allowed only by a port-less rule', () => {
    apply(mode, PING_C);
    assert.ok(ping(podNs('a'), PODS.c), 'ipBlock rule without ports');
    apply(mode, TCP_C);
    assert.equal(connect(podNs('a'), PODS.c, 80), 'c', 'rule without peers: any peer, TCP 80');
    assert.equal(connect(podNs('a'), PODS.c, 8080), '');
    assert.equal(ping(podNs('a'), PODS.c), false, 'TCP rule does not admit ICMP');
  });

  t('node address reaches an ingress-isolated pod', () => {
    apply(mode, DENY_B_IN);
    assert.equal(connect(NODE_NS, PODS.b, 8080), 'b');
    assert.ok(ping(NODE_NS, PODS.b));
    assert.equal(connect(podNs('a'), PODS.b, 8080), '');
  });

  t('restart: a new agent adopts the pins, rewrites nothing, enforcement continues', () => {
    const first = apply(mode, DENY_B_IN, A_TO_B_80);
    assert.ok(first.written + first.removed > 0);
    assert.equal(connect(podNs('c'), PODS.b, 80), '', 'enforced with no agent running');
    const again = apply(mode, DENY_B_IN, A_TO_B_80);
    assert.deepEqual([again.written, again.removed], [0, 0]);
    assert.equal(connect(podNs('a'), PODS.b, 80), 'b');
    assert.equal(connect(podNs('c'), PODS.b, 80), '');
  });

  t('egress through a Service VIP is judged on the real backend, local or remote', () => {
    apply(mode);
    assert.deepEqual(viaService(3), ['b', 'c', 'r'], 'not isolated: every backend answers');
    apply(mode, A_OUT_TO_B);
    assert.deepEqual(viaService(6), ['', '', '', '', 'b', 'b'], 'only the allowed backend b answers');
    apply(mode, A_OUT_TO_B, A_OUT_TO_REMOTE);
    assert.deepEqual(viaService(3), ['', 'b', 'r'], 'c denied at its veth, r allowed at the uplink');
    assert.equal(connect(podNs('a'), PODS.c, 80), '', 'direct connection to c still denied');
  });

  t('an interface no longer listed is detached', () => {
    agent(
      {
        op: 'apply',
        snapshot: snapshot(DENY_B_IN),
        hostAddresses: [HOST],
        interfaces: [['x/a', hostIf('a')]],
        uplinks: [hostIf('r')],
      },
      mode,
    );
    assert.equal(hooks(mode, progIds(mode.pinRoot)), 3, 'a and the uplink keep their hooks');
    assert.equal(connect(podNs('a'), PODS.b, 8080), 'b', 'b is no longer enforced');
    assert.equal(pinsOf(mode.pinRoot).filter((f) => f.includes(hostIf('b'))).length, 0);
  });

  t('cleanup removes every pin, link, filter and qdisc sluice created', () => {
    apply(mode, DENY_B_IN);
    const ids = progIds(mode.pinRoot);
    assert.equal(hooks(mode, ids), 7);
    agent({ op: 'cleanup' }, mode);
    assert.equal(existsSync(mode.pinRoot), false, `left: ${pinsOf(mode.pinRoot).join(', ')}`);
    assert.equal(hooks(mode, ids), 0);
    assert.doesNotMatch(qdiscs(), /clsact/);
    assert.equal(connect(podNs('a'), PODS.b, 8080), 'b');
  });
}
