/**
 * Reading the sluice_events ring buffer. Records are delivered synchronously
 * from consume()/poll() on the calling thread; decode them with
 * layout.event.decode.
 */

import { ERROR_CODES, check, checkHandle, raw, registerSampleCallback, type Handle } from './libbpf.js';

export class RingBufferReader {
  private rb: Handle | undefined;
  private readonly callback: { ptr: Handle; release(): void };

  constructor(
    mapFd: number,
    onRecord: (data: Buffer) => void,
    private readonly mapName = 'sluice_events',
  ) {
    this.callback = registerSampleCallback(onRecord);
    try {
      this.rb = checkHandle(
        raw.ringBufferNew(mapFd, this.callback.ptr, null, null) as unknown,
        ERROR_CODES.BPF,
        'open ring buffer',
        {
          map: mapName,
        },
      );
    } catch (err) {
      this.callback.release();
      throw err;
    }
  }

  /** Delivers every record available now; returns how many. Never blocks. */
  consume(): number {
    if (this.rb === undefined) return 0;
    return check(raw.ringBufferConsume(this.rb) as number, ERROR_CODES.BPF, 'consume ring buffer', {
      map: this.mapName,
    });
  }

  close(): void {
    if (this.rb !== undefined) raw.ringBufferFree(this.rb);
    this.rb = undefined;
    this.callback.release();
  }
}
