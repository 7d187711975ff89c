/**
 * The process inside one lab pod's network namespace (`ip netns exec NS node
 * pod-server.js --socket PATH --ports TCP:80,UDP:53`): an echo server on each
 * declared containerPort (TCP and UDP, dual stack), and the pod's client for
 * `sluice lab probe`. It takes requests, one JSON object per line, on a Unix
 * socket in the lab's state directory (a path, so reachable from any network
 * namespace) and answers each with one JSON line:
 *
 *   {op: 'listen', protocol, port}      an extra echo listener (kept until 'unlisten')
 *   {op: 'unlisten', protocol, port}    closes an extra listener; declared ports stay
 *   {op: 'connect', protocol, host, port, timeoutMs}   one round trip: sends a line, awaits its echo
 *
 * Answer: {ok: boolean, error?: string}.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { connect, createServer, isIPv6, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

type Listener = Server | UdpSocket;
type Answer = { ok: boolean; error?: string };

const listeners = new Map<string, { readonly close: () => void; readonly declared: boolean }>();

function listenTcp(port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d) => s.write(d));
    });
    srv.once('error', reject);
    srv.listen({ port, host: '::', ipv6Only: false }, () => resolve(srv));
  });
}

function listenUdp(port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.once('error', reject);
    sock.bind(port, '::', () => resolve(sock));
  });
}

async function listen(protocol: string, port: number, declared: boolean): Promise<Answer> {
  const key = `${protocol}:${port}`;
  if (listeners.has(key)) return { ok: true };
  const l = protocol === 'UDP' ? await listenUdp(port) : await listenTcp(port);
  listeners.set(key, { close: () => l.close(), declared });
  return { ok: true };
}

function unlisten(protocol: string, port: number): Answer {
  const key = `${protocol}:${port}`;
  const l = listeners.get(key);
  if (l !== undefined && !l.declared) {
    l.close();
    listeners.delete(key);
  }
  return { ok: true };
}

function tcpRoundTrip(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.once('connect', () => sock.write('probe\n'));
    sock.once('data', () => done(true));
  });
}

function udpRoundTrip(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.once('message', () => done(true));
    sock.send('probe\n', port, host);
  });
}

async function handle(m: Record<string, unknown>): Promise<Answer> {
  const protocol = String(m['protocol']);
  const port = Number(m['port']);
  switch (m['op']) {
    case 'listen':
      return listen(protocol, port, false);
    case 'unlisten':
      return unlisten(protocol, port);
    case 'connect': {
      const host = String(m['host']);
      const timeoutMs = Number(m['timeoutMs']);
      const ok = await (protocol === 'UDP' ? udpRoundTrip : tcpRoundTrip)(host, port, timeoutMs);
      return { ok };
    }
    default:
      return { ok: false, error: `unknown op ${String(m['op'])}` };
  }
}

function serveControl(path: string): void {
  rmSync(path, { force: true });
  const control = createServer((conn) => {
    conn.on('error', () => undefined);
    createInterface({ input: conn }).on('line', (line) => {
      Promise.resolve()
        .then(() => handle(JSON.parse(line) as Record<string, unknown>))
        .catch((err: unknown) => ({ ok: false, error: String(err) }))
        .then(
          (a) => conn.write(`${JSON.stringify(a)}\n`),
          () => undefined,
        );
    });
  });
  control.listen(path);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { socket: { type: 'string' }, ports: { type: 'string' } } });
  if (values.socket === undefined) throw new Error('pod-server: --socket PATH is required');
  for (const spec of (values.ports ?? '').split(',').filter((s) => s !== '')) {
    const [protocol = 'TCP', port = '0'] = spec.split(':');
    await listen(protocol, Number(port), true);
  }
  serveControl(values.socket);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
