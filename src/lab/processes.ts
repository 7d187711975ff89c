/**
 * Detached processes of a lab (the agent, the pod servers): spawned in their
 * own session with output to a log file, so they outlive `sluice lab up`;
 * stopped by pid only when their command line still carries the lab's marker.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts `cmd args` detached, stdout and stderr appended to `logFile`; returns its pid. */
export function spawnDetached(cmd: string, args: readonly string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, [...args], { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * The command that runs a module of this installation with the current
 * Node.js: the compiled `.js` next to this file, or the `.ts` source under
 * the same loader flags (tsx) this process was started with.
 */
export function nodeModuleCommand(relative: string): string[] {
  const js = fileURLToPath(new URL(relative, import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, ...process.execArgv, js.replace(/\.js$/, '.ts')];
}

/** The `sluice` CLI as this process was started (bin/sluice.js, or a source entry under tsx). */
export function sluiceCommand(): string[] {
  const entry = process.argv[1];
  if (entry === undefined) throw new Error('cannot tell how sluice was started');
  return [process.execPath, ...process.execArgv, entry];
}

async function cmdline(pid: number): Promise<string | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return raw?.split('\0').join(' ');
}

/** True when `pid` runs and its command line contains `marker`. */
export async function isOurs(pid: number, marker: string): Promise<boolean> {
  const line = await cmdline(pid);
  return line !== undefined && line.includes(marker);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Not ours or gone: nothing. */
export async function stopProcess(pid: number | undefined, marker: string, graceMs = 5000): Promise<void> {
  if (pid === undefined || !(await isOurs(pid, marker))) return;
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await isOurs(pid, marker)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await sleep(50);
  }
}
