/**
 * Running totals kept in `state.json` for the metrics: swaps by outcome and limit detections
 * by pattern. They only grow (a Prometheus counter); an old state file without them reads as
 * all zero. Each is bumped inside the state write that records the swap or the detection,
 * so counting costs no extra lock round trip.
 */
import * as z from './zod.js';

const countMap = () => z._default(z.record(z.string(), z.int().check(z.gte(0))), {});

export const countersSchema = z.looseObject({
  /** Finished swaps by outcome (`completed`, `fell-back`, ...). */
  swaps: countMap(),
  /** Swaps by the pattern that triggered them (`manual` when none). */
  swapTriggers: countMap(),
  /** `quota.detected` lines by `<verdict>|<pattern>` (`unknown` when no pattern is named). */
  detections: countMap(),
});

export type Counters = z.output<typeof countersSchema>;

/** The default block, a fresh object for each state. */
export function emptyCounters(): Counters {
  return { swaps: {}, swapTriggers: {}, detections: {} };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Counts one finished swap. */
export function countSwap(
  st: { counters: Counters },
  outcome: string,
  pattern: string | null | undefined,
): void {
  bump(st.counters.swaps, outcome);
  bump(st.counters.swapTriggers, pattern || 'manual');
}

/** Counts one `quota.detected` line. */
export function countDetection(
  st: { counters: Counters },
  verdict: string,
  pattern: string | null | undefined,
): void {
  bump(st.counters.detections, `${verdict}|${pattern || 'unknown'}`);
}

/** Splits a `detections` key back into its verdict and pattern. */
export function detectionKey(key: string): { verdict: string; pattern: string } {
  const at = key.indexOf('|');
  return at < 0
    ? { verdict: 'unknown', pattern: key }
    : { verdict: key.slice(0, at), pattern: key.slice(at + 1) };
}
