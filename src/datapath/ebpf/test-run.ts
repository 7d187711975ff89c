/** BPF_PROG_TEST_RUN: runs a program on packet bytes without a device. */

import { ERROR_CODES, NativeBuffer, check, raw } from './libbpf.js';

/** struct bpf_test_run_opts of libbpf 1.1. */
const OPTS = {
  size: 80,
  dataIn: 8,
  dataOut: 16,
  dataSizeIn: 24,
  dataSizeOut: 28,
  ctxIn: 32,
  ctxOut: 40,
  ctxSizeIn: 48,
  ctxSizeOut: 52,
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
  /** skb->mark after the program. */
  readonly mark: number;
}

/** ctx_in: struct __sk_buff up to and including mark (len and pkt_type must be 0). */
const CTX_IN_SIZE = 12;
/** ctx_out must hold the kernel's whole struct __sk_buff (192 bytes on 6.x), else ENOSPC. */
const CTX_OUT_SIZE = 256;
const CTX_MARK = 8;

export function progTestRun(
  progFd: number,
  packet: Uint8Array,
  options: { repeat?: number; mark?: number } = {},
): TestRunResult {
  const dataIn = NativeBuffer.from(packet);
  const dataOut = new NativeBuffer(packet.length + 256);
  const ctx = Buffer.alloc(CTX_IN_SIZE);
  ctx.writeUInt32LE(options.mark ?? 0, CTX_MARK);
  const ctxIn = NativeBuffer.from(ctx);
  const ctxOut = new NativeBuffer(CTX_OUT_SIZE);
  try {
    const opts = Buffer.alloc(OPTS.size);
    opts.writeBigUInt64LE(BigInt(OPTS.size), 0);
    opts.writeBigUInt64LE(dataIn.address, OPTS.dataIn);
    opts.writeBigUInt64LE(dataOut.address, OPTS.dataOut);
    opts.writeUInt32LE(packet.length, OPTS.dataSizeIn);
    opts.writeUInt32LE(dataOut.size, OPTS.dataSizeOut);
    opts.writeInt32LE(options.repeat ?? 1, OPTS.repeat);
    opts.writeBigUInt64LE(ctxIn.address, OPTS.ctxIn);
    opts.writeBigUInt64LE(ctxOut.address, OPTS.ctxOut);
    opts.writeUInt32LE(CTX_IN_SIZE, OPTS.ctxSizeIn);
    opts.writeUInt32LE(CTX_OUT_SIZE, OPTS.ctxSizeOut);
    check(raw.progTestRunOpts(progFd, opts) as number, ERROR_CODES.BPF, 'BPF_PROG_TEST_RUN', {
      program: `fd ${progFd}`,
    });
    const outLen = Math.min(opts.readUInt32LE(OPTS.dataSizeOut), dataOut.size);
    return {
      retval: opts.readUInt32LE(OPTS.retval),
      durationNs: opts.readUInt32LE(OPTS.duration),
      dataOut: dataOut.read(outLen),
      mark: ctxOut.read().readUInt32LE(CTX_MARK),
    };
  } finally {
    dataIn.free();
    dataOut.free();
    ctxIn.free();
    ctxOut.free();
  }
}
