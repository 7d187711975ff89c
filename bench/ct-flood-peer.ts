/**
 * The processes of bench/ct-flood.ts, each run inside a namespace with
 * `node --import tsx bench/ct-flood-peer.ts ROLE ...`. Lines on stdin are
 * commands, lines on stdout answers.
 *
 *   server PORT          accepts and holds connections; "push" writes a line
 *                        to every held one (the server speaks first), and
 *                        answers "pushed N"; "count" answers "held N"
 *   hold HOST PORT K     opens K connections and answers "open K"; "report"
 *                        answers "received M": how many got a push since
 *                        the last report
 *   flood HOST PORT N C SOURCES
 *                        opens and closes N connections, C at a time, from
 *                        the comma-separated source addresses in turn, then
 *                        answers "flooded OK FAILED" and exits
 */
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [role, ...args] = process.argv.slice(2);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const commands = createInterface({ input: process.stdin });

function server(port: number): void {
  const held = new Set<Socket>();
  const srv = createServer((s) => {
    held.add(s);
    s.on('error', () => held.delete(s));
    s.on('close', () => held.delete(s));
  });
  srv.listen(port, () => say('listening'));
  commands.on('line', (line) => {
    if (line === 'count') say(`held ${held.size}`);
    if (line !== 'push') return;
    for (const s of held) s.write('push\n');
    say(`pushed ${held.size}`);
  });
}

function hold(host: string, port: number, count: number): void {
  const got = new Set<number>();
  let open = 0;
  for (let i = 0; i < count; i++) {
    const s = connect({ host, port }, () => {
      open++;
      if (open === count) say(`open ${count}`);
    });
    s.setKeepAlive(false);
    s.on('data', () => got.add(i));
    s.on('error', () => undefined);
  }
  commands.on('line', (line) => {
    if (line !== 'report') return;
    say(`received ${got.size}`);
    got.clear();
  });
}

function once(host: string, port: number, localAddress: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      s.destroy();
      resolve(true);
    });
    s.setTimeout(3000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
}

async function flood(host: string, port: number, total: number, concurrency: number, sources: string[]): Promise<void> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const source = sources.length === 0 ? undefined : sources[next % sources.length];
      next++;
      if (await once(host, port, source)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  say(`flooded ${ok} ${failed}`);
  process.exit(0);
}

const num = (i: number): number => Number(args[i]);
if (role === 'server') server(num(0));
else if (role === 'hold') hold(args[0] ?? '', num(1), num(2));
else if (role === 'flood')
  await flood(args[0] ?? '', num(1), num(2), num(3), (args[4] ?? '').split(',').filter(Boolean));
else throw new Error(`ct-flood-peer: unknown role '${role ?? ''}'`);
