import type { Sighting } from './auditor.js';

/** Every request id the tracker answered 2xx, with the time of the answer, in answer order. */
export class Acknowledgements {
  private readonly rids: string[] = [];
  private readonly times: number[] = [];

  add(rids: readonly string[], at = Date.now()): void {
    // Answers are recorded as they arrive, so times never decrease; the searches rely on it.
    const last = this.times[this.times.length - 1] ?? at;
    const time = Math.max(at, last);
    for (const rid of rids) {
      this.rids.push(rid);
      this.times.push(time);
    }
  }

  get count(): number {
    return this.rids.length;
  }

  ids(): readonly string[] {
    return this.rids;
  }

  /** Index of the first answer at or after `at`. */
  private firstIndexFrom(at: number): number {
    let low = 0;
    let high = this.times.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.times[mid] as number) < at) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Answers given in [from, to). */
  countBetween(from: number, to: number): number {
    return Math.max(0, this.firstIndexFrom(to) - this.firstIndexFrom(from));
  }

  /** The first request answered at or after `at`. */
  firstFrom(at: number): { rid: string; at: number } | undefined {
    const i = this.firstIndexFrom(at);
    const rid = this.rids[i];
    return rid === undefined ? undefined : { rid, at: this.times[i] as number };
  }
}

export interface AuditSummary {
  /** Events the tracker answered 2xx. */
  readonly acknowledged: number;
  /** Acknowledged events found in Kafka at least once. */
  readonly delivered: number;
  /** Acknowledged events not found in Kafka: must be 0. */
  readonly lost: number;
  /** Extra copies of acknowledged events in Kafka (at-least-once after a crash). */
  readonly duplicated: number;
  /** Events in Kafka whose answer never came back as a 2xx (stored, then the answer was lost). */
  readonly deliveredUnacknowledged: number;
  /** Some lost request ids (20 unless asked otherwise), earliest answered first. */
  readonly lostSample: readonly string[];
}

export function summarize(acks: Acknowledgements, seen: ReadonlyMap<string, Sighting>, sampleSize = 20): AuditSummary {
  let delivered = 0;
  let duplicated = 0;
  const lostSample: string[] = [];
  const acknowledged = new Set<string>();
  for (const rid of acks.ids()) {
    acknowledged.add(rid);
    const sighting = seen.get(rid);
    if (sighting) {
      delivered += 1;
      duplicated += sighting.count - 1;
    } else if (lostSample.length < sampleSize) {
      lostSample.push(rid);
    }
  }
  let deliveredUnacknowledged = 0;
  for (const rid of seen.keys()) if (!acknowledged.has(rid)) deliveredUnacknowledged += 1;
  return {
    acknowledged: acks.count,
    delivered,
    lost: acks.count - delivered,
    duplicated,
    deliveredUnacknowledged,
    lostSample,
  };
}

/**
 * Time to recover from a fault that ended at `faultEnd`: until the first event acknowledged at
 * or after that moment was appended to Kafka. It covers everything between the fault and a
 * working pipeline again: reconnects, backoffs, and the backlog that had to go first. null when
 * no event was acknowledged after the fault, or that event never reached Kafka.
 */
export function recoveryMs(
  faultEnd: number,
  acks: Acknowledgements,
  seen: ReadonlyMap<string, Sighting>,
): number | null {
  const first = acks.firstFrom(faultEnd);
  if (!first) return null;
  const sighting = seen.get(first.rid);
  return sighting ? Math.max(0, sighting.firstAppendedAt - faultEnd) : null;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
