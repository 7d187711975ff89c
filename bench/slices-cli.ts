/**
 * What bench/ab-interleaved.ts and bench/ab-concurrent.ts share as
 * programs: their integer flags, and running a measurement on a benchmark
 * network that is deleted however the run ends (error, Ctrl-C, SIGTERM).
 */

/** The positive integer after `name` on the command line, or `fallback`. */
export function intFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer`);
  return value;
}

/** Needs root; creates the network, measures on it, and closes it on every way out. */
export async function withBenchNet<N extends { close(): Promise<void> }>(
  script: string,
  create: () => Promise<N>,
  measure: (net: N) => Promise<void>,
): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`${script} needs root (network namespaces, bpffs)`);
  const net = await create();
  const stop = (code: number) => () => void net.close().finally(() => process.exit(code));
  process.once('SIGINT', stop(130));
  process.once('SIGTERM', stop(143));
  try {
    await measure(net);
  } finally {
    await net.close();
  }
}
