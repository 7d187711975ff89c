import { PROTOCOLS, type Protocol } from '../model/k8s.js';
import type { PortMatch } from '../model/compiled.js';
import { MAX_PORT, MIN_PORT } from './ports.js';

/** Where a packet falls: a protocol without ports, or a port of TCP, UDP or SCTP. */
export type Bucket = 'PORTLESS' | Protocol;
export const BUCKETS: readonly Bucket[] = ['PORTLESS', ...PROTOCOLS];

/** A run of ports of one bucket (`from = to = 0` for PORTLESS). */
export interface Segment {
  readonly bucket: Bucket;
  readonly from: number;
  readonly to: number;
}

/** Whether `m` covers all of `s`. Segments are cut at every edge of the matches judged, so partial cover never happens. */
export function covers(m: PortMatch, s: Segment): boolean {
  if (m.protocol === 'ANY') return true;
  if (m.protocol === 'PORTLESS') return s.bucket === 'PORTLESS';
  return m.protocol === s.bucket && m.from <= s.from && m.to >= s.to;
}

/** The elementary segments of the whole port space cut at the edges of `matches`, in bucket then port order. */
export function segmentsOf(matches: readonly PortMatch[]): Segment[] {
  const out: Segment[] = [{ bucket: 'PORTLESS', from: 0, to: 0 }];
  for (const protocol of PROTOCOLS) {
    const cuts = new Set([MIN_PORT, MAX_PORT + 1]);
    for (const m of matches) {
      if (m.protocol !== protocol) continue;
      cuts.add(m.from);
      cuts.add(m.to + 1);
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      out.push({ bucket: protocol, from: points[i] as number, to: (points[i + 1] as number) - 1 });
    }
  }
  return out;
}

/** A run of segments with one outcome, as the port match that covers exactly it. */
export interface Run<T> {
  readonly bucket: Bucket;
  readonly from: number;
  readonly to: number;
  readonly value: T;
}

/** Adjacent segments of a bucket with the same value (by `same`) merged. */
export function runs<T>(segments: readonly Segment[], values: readonly T[], same: (a: T, b: T) => boolean): Run<T>[] {
  const out: Run<T>[] = [];
  segments.forEach((s, i) => {
    const value = values[i] as T;
    const last = out.at(-1);
    if (last !== undefined && last.bucket === s.bucket && last.to + 1 === s.from && same(last.value, value)) {
      out[out.length - 1] = { ...last, to: s.to };
    } else {
      out.push({ bucket: s.bucket, from: s.from, to: s.to, value });
    }
  });
  return out;
}

/** True when the runs are one value over the whole space: four buckets, each one full run. */
export function isWhole<T>(list: readonly Run<T>[], same: (a: T, b: T) => boolean): boolean {
  if (list.length !== BUCKETS.length) return false;
  const first = list[0];
  return (
    first !== undefined &&
    list.every(
      (r) => same(r.value, first.value) && (r.bucket === 'PORTLESS' || (r.from === MIN_PORT && r.to === MAX_PORT)),
    )
  );
}
