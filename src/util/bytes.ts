/**
 * Small zero-filled buffers for map keys and values. Buffer.alloc gives each
 * buffer an ArrayBuffer and a backing store of its own (about 200 bytes of
 * heap and native memory around a 16-byte key); allocUnsafe slices Node's
 * shared 8 KiB pool for sizes under 4 KiB. The agent holds about 100,000
 * keys and values at 10,000 pods, so this is tens of megabytes.
 */
export function zeroed(size: number): Buffer {
  return Buffer.allocUnsafe(size).fill(0);
}
