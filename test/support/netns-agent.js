// A helper process run inside one network namespace (`ip netns exec <ns> node
// netns-agent.js`) by test/support/netns.ts. It reads JSON requests from stdin,
// one per line, and answers each with one JSON line on stdout:
//   {id, op: 'listen', proto: 'tcp'|'udp', port}            echo server on [::] (dual stack)
//   {id, op: 'tcp', host, port, timeoutMs, localAddress?, keep?}  connect, send, await the echo
//   {id, op: 'send', handle, timeoutMs}                     echo over a kept connection
//   {id, op: 'udp', host, port, timeoutMs, localAddress?, localPort?}  request/response
// Answer: {id, ok: boolean, handle?, error?}.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { isIPv6 } from 'node:net';

/** @type {Map<number, import('node:net').Socket>} */
const kept = new Map();
let nextHandle = 1;

/** @param {Record<string, unknown>} m @param {boolean} ok @param {Record<string, unknown>} [extra] */
function answer(m, ok, extra = {}) {
  process.stdout.write(`${JSON.stringify({ id: m.id, ok, ...extra })}\n`);
}

/** @param {import('node:net').Socket} sock @param {number} timeoutMs @returns {Promise<boolean>} */
function echo(sock, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const onData = () => done(true);
    const onErr = () => done(false);
    /** @param {boolean} v */
    function done(v) {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onErr);
      resolve(v);
    }
    sock.once('data', onData);
    sock.once('error', onErr);
    sock.write('ping\n');
  });
}

/** @param {any} m */
async function handle(m) {
  if (m.op === 'listen' && m.proto === 'tcp') {
    const srv = createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d) => s.write(d));
    });
    srv.listen({ port: m.port, host: '::', ipv6Only: false }, () => answer(m, true));
    srv.on('error', (e) => answer(m, false, { error: String(e) }));
  } else if (m.op === 'listen' && m.proto === 'udp') {
    const sock = createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(m.port, '::', () => answer(m, true));
  } else if (m.op === 'tcp') {
    const sock = connect({ host: m.host, port: m.port, localAddress: m.localAddress });
    sock.on('error', () => undefined);
    const opened = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), m.timeoutMs);
      sock.once('connect', () => (clearTimeout(timer), resolve(true)));
      sock.once('error', () => (clearTimeout(timer), resolve(false)));
    });
    const ok = opened && (await echo(sock, m.timeoutMs));
    if (ok && m.keep) {
      const h = nextHandle++;
      kept.set(h, sock);
      answer(m, true, { handle: h });
    } else {
      sock.destroy();
      answer(m, ok);
    }
  } else if (m.op === 'send') {
    const sock = kept.get(m.handle);
    answer(m, sock !== undefined && (await echo(sock, m.timeoutMs)));
  } else if (m.op === 'udp') {
    const sock = createSocket(isIPv6(m.host) ? 'udp6' : 'udp4');
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), m.timeoutMs);
      sock.once('message', () => (clearTimeout(timer), resolve(true)));
      sock.once('error', () => (clearTimeout(timer), resolve(false)));
      sock.bind(m.localPort ?? 0, m.localAddress, () => sock.send('ping', m.port, m.host));
    });
    sock.close();
    answer(m, ok);
  } else answer(m, false, { error: `unknown op ${String(m.op)}` });
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  handle(JSON.parse(line)).catch((e) => process.stderr.write(`${String(e)}\n`));
});
rl.on('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ id: 0, ok: true })}\n`);
