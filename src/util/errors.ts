/**
 * Every failure sluice reports carries a stable code and the context an
 * operator needs (object, field, file, map, interface, errno).
 */

export const ERROR_CODES = {
  MANIFEST_INVALID: 'SLUICE_MANIFEST_INVALID',
  MANIFEST_UNREADABLE: 'SLUICE_MANIFEST_UNREADABLE',
  USAGE: 'SLUICE_USAGE',
  BPF: 'SLUICE_BPF',
  BPF_MAP_UPDATE: 'SLUICE_BPF_MAP_UPDATE',
  BPF_LOAD: 'SLUICE_BPF_LOAD',
  BPF_ATTACH: 'SLUICE_BPF_ATTACH',
  NETLINK: 'SLUICE_NETLINK',
  COMMAND_FAILED: 'SLUICE_COMMAND_FAILED',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface ErrorContext {
  readonly file?: string;
  readonly object?: string;
  readonly field?: string;
  readonly map?: string;
  readonly program?: string;
  readonly iface?: string;
  readonly errno?: number;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SluiceError';
    this.code = code;
    this.context = context;
  }
}

/** A manifest that cannot be taken: names file, object and field path. */
export class ManifestError extends SluiceError {
  constructor(
    message: string,
    context: { file: string; object?: string; field?: string },
    options?: { cause?: unknown },
  ) {
    const where = [context.file, context.object, context.field].filter((p) => p !== undefined && p !== '').join(': ');
    super(ERROR_CODES.MANIFEST_INVALID, `${where}: ${message}`, context, options);
    this.name = 'ManifestError';
  }
}

/** Wrong command-line usage; the CLI exits 2. */
export class UsageError extends SluiceError {
  constructor(message: string) {
    super(ERROR_CODES.USAGE, message);
    this.name = 'UsageError';
  }
}

/**
 * A libbpf or bpf(2) call that failed: names the operation, the map, program
 * or interface it was about, and the errno (name and text).
 */
export class BpfError extends SluiceError {
  constructor(
    code: ErrorCode,
    operation: string,
    context: ErrorContext & { readonly errno: number; readonly errnoText: string },
    options?: { cause?: unknown },
  ) {
    const subject = [context.map, context.program, context.iface, context.file].filter((p) => p !== undefined);
    const about = subject.length > 0 ? ` (${subject.join(', ')})` : '';
    super(code, `${operation}${about}: ${context.errnoText}`, context, options);
    this.name = 'BpfError';
  }
}
