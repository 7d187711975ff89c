/** Where a command writes; tests pass a capturing one. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
};

/** Exit codes shared by every command. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, NO_DATAPATH: 3 } as const;
