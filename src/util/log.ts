/**
 * The one root logger. JSON lines (pino) on stdout; components take
 * `log.child({ component })` in their constructor and add per-operation
 * bindings (`child({ pod: 'ns/name' })`). Errors are logged as `{ err }` so
 * pino's serializer keeps the stack and a SluiceError's `code` and `context`.
 * Never bind untrusted keys: values only.
 */
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where JSON lines go; stdout when absent. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'sluice',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      // `"level":"info"` instead of `30`: readable without pino-pretty.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

let root: Logger | undefined;

/** The process-wide root logger, created on first use. */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}

/** Replaces the root logger (the agent calls this once with the flag's level). */
export function configureRootLogger(options: LoggerOptions): Logger {
  root = createLogger(options);
  return root;
}

/** A logger that drops everything: the default for components built without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** One parsed JSON log line. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly level: string; readonly msg?: string };

export interface LogSink {
  readonly log: Logger;
  /** Every line written so far, parsed. */
  readonly lines: LogLine[];
  /** Lines whose `msg` contains `text` (and whose bindings include `fields`, when given). */
  find(text: string, fields?: Readonly<Record<string, unknown>>): LogLine[];
}

/** A logger writing into memory, for tests that assert on log lines (pino's `sink()` idea). */
export function createLogSink(level: LogLevel = 'trace'): LogSink {
  const lines: LogLine[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done): void {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as LogLine);
      done();
    },
  });
  // Writable calls write() synchronously while nothing is buffered, so lines are visible at once.
  const log = createLogger({ level, destination: stream });
  const find = (text: string, fields: Readonly<Record<string, unknown>> = {}): LogLine[] =>
    lines.filter(
      (l) =>
        typeof l.msg === 'string' &&
        l.msg.includes(text) &&
        Object.entries(fields).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)),
    );
  return { log, lines, find };
}
