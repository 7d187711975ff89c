/**
 * Runs the iptables/ipset tools, optionally inside a network namespace
 * (`ip netns exec <ns> …`), and turns a failure into a SluiceError that names
 * the command, the object it was about and the tool's stderr.
 */
import { spawn } from 'node:child_process';
import { ERROR_CODES, SluiceError } from '../../util/errors.js';

export type IptablesVariant = 'iptables-nft' | 'iptables-legacy' | 'iptables';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface RunOptions {
  readonly stdin?: string;
  /** What the command is about, for the error message: a set or chain name. */
  readonly object?: string;
  /** Resolve instead of throwing on a non-zero exit. */
  readonly allowFailure?: boolean;
}

export class CommandRunner {
  constructor(private readonly netns?: string) {}

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [file, argv] = this.netns === undefined ? [cmd, args] : ['ip', ['netns', 'exec', this.netns, cmd, ...args]];
    const result = await spawnCollect(file, argv, opts.stdin);
    if (result.code !== 0 && opts.allowFailure !== true) {
      const about = opts.object === undefined ? '' : ` (${opts.object})`;
      const where = this.netns === undefined ? '' : ` in netns ${this.netns}`;
      const stderr = result.stderr.trim() || `exit code ${result.code}`;
      throw new SluiceError(ERROR_CODES.COMMAND_FAILED, `${cmd} ${args.join(' ')}${where}${about}: ${stderr}`, {
        ...(opts.object === undefined ? {} : { object: opts.object }),
      });
    }
    return result;
  }
}

function spawnCollect(file: string, argv: readonly string[], stdin: string | undefined): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new SluiceError(ERROR_CODES.COMMAND_FAILED, `${file}: ${e.message}`, {}, { cause: e })),
    );
    child.on('close', (code) =>
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

/** Tool names of one iptables variant and family. */
export function tools(variant: IptablesVariant, family: 4 | 6): { main: string; save: string; restore: string } {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  const suffix = variant === 'iptables' ? '' : variant.slice('iptables'.length);
  return { main: `${base}${suffix}`, save: `${base}${suffix}-save`, restore: `${base}${suffix}-restore` };
}

/**
 * Which ipset restore line failed: ipset reports "Error in line N: …", which
 * names the set the operator has to look at.
 */
export function failedIpsetObject(stderr: string, input: string): string | undefined {
  const m = /line (\d+)/.exec(stderr);
  if (m === null) return undefined;
  const line = input.split('\n')[Number(m[1]) - 1];
  return line?.split(' ')[1];
}
