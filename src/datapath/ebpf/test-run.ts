/** BPF_PROG_TEST_RUN: runs a program on packet bytes without a device. */

import { ERROR_CODES, NativeBuffer, check, raw } from './libbpf.js';

/** struct bpf_test_run_opts of libbpf 1.1. */
const OPTS = {
  size: 80,
  dataIn: 8,
  dataOut: 16,
  dataSizeIn: 24,
  dataSizeOut: 28,
  retval: 56,
  repeat: 60,
  duration: 64,
} as const;

export interface TestRunResult {
  /** The program's return value (TC_ACT_OK = 0, TC_ACT_SHOT = 2 for tc). */
  readonly retval: number;
  /** Average ns per run. */
  readonly durationNs: number;
  /** The packet after the program (it may rewrite it). */
  readonly dataOut: Buffer;
}

export function progTestRun(progFd: number, packet: Uint8Array, options: { repeat?: number } = {}): TestRunResult {
  const dataIn = NativeBuffer.from(packet);
  const dataOut = new NativeBuffer(packet.length + 256);
  try {
    const opts = Buffer.alloc(OPTS.size);
    opts.writeBigUInt64LE(BigInt(OPTS.size), 0);
    opts.writeBigUInt64LE(dataIn.address, OPTS.dataIn);
    opts.writeBigUInt64LE(dataOut.address, OPTS.dataOut);
    opts.writeUInt32LE(packet.length, OPTS.dataSizeIn);
    opts.writeUInt32LE(dataOut.size, OPTS.dataSizeOut);
    opts.writeInt32LE(options.repeat ?? 1, OPTS.repeat);
    check(raw.progTestRunOpts(progFd, opts) as number, ERROR_CODES.BPF, 'BPF_PROG_TEST_RUN', {
      program: `fd ${progFd}`,
    });
    const outLen = Math.min(opts.readUInt32LE(OPTS.dataSizeOut), dataOut.size);
    return {
      retval: opts.readUInt32LE(OPTS.retval),
      durationNs: opts.readUInt32LE(OPTS.duration),
      dataOut: dataOut.read(outLen),
    };
  } finally {
    dataIn.free();
    dataOut.free();
  }
}
