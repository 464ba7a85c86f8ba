import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describeError } from '@pushtech/runtime';

/** A counter compared with what it should hold: each event of the topic counted exactly once. */
export interface CountAudit {
  /** Distinct events in the topic. */
  readonly expected: number;
  /** The sum of the counter's fields. */
  readonly counted: number;
  /** Counts above what the events explain, summed over the fields (events counted twice). */
  readonly overCounted: number;
  /** Counts below, summed over the fields (events never counted). */
  readonly underCounted: number;
  /** The fields that differ, `field: counted/expected`, a few. */
  readonly sample: readonly string[];
}

/**
 * Compares a counter hash with the expected count per field. Per field, so that a double count
 * of one type cannot hide behind a missed count of another; without per-field expectations
 * (`expected` a plain number) only the sum is compared.
 */
export function auditCounts(
  expected: ReadonlyMap<string, number> | number,
  counted: ReadonlyMap<string, number>,
): CountAudit {
  let total = 0;
  for (const n of counted.values()) total += n;
  if (typeof expected === 'number') {
    return {
      expected,
      counted: total,
      overCounted: Math.max(0, total - expected),
      underCounted: Math.max(0, expected - total),
      sample: total === expected ? [] : [`sum: ${total}/${expected}`],
    };
  }
  let want = 0;
  let overCounted = 0;
  let underCounted = 0;
  const sample: string[] = [];
  for (const field of new Set([...expected.keys(), ...counted.keys()])) {
    const e = expected.get(field) ?? 0;
    const c = counted.get(field) ?? 0;
    want += e;
    if (c > e) overCounted += c - e;
    if (c < e) underCounted += e - c;
    if (c !== e && sample.length < 5) sample.push(`${field}: ${c}/${e}`);
  }
  return { expected: want, counted: total, overCounted, underCounted, sample };
}

/** The archive as found on disk. */
export interface ArchiveContents {
  /** `.ndjson.gz` files read. */
  readonly files: number;
  /** How often each event id is in the archive. */
  readonly ids: ReadonlyMap<string, number>;
  /** Temporary files left behind (a write that never finished), relative paths. */
  readonly temporary: readonly string[];
  /** Archive files that could not be read (torn, not gzip, a line without an id), with the reason. */
  readonly unreadable: readonly string[];
}

/** Reads every `.ndjson.gz` file under `dir` (the archiver's layout: `YYYY/MM/DD/HH/*.ndjson.gz`). */
export function readArchiveDir(dir: string): ArchiveContents {
  const entries = readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  const ids = new Map<string, number>();
  const unreadable: string[] = [];
  let files = 0;
  for (const entry of entries.filter((e) => e.endsWith('.ndjson.gz'))) {
    files += 1;
    try {
      for (const id of readArchiveFile(path.join(dir, entry))) ids.set(id, (ids.get(id) ?? 0) + 1);
    } catch (error: unknown) {
      unreadable.push(`${entry}: ${describeError(error)}`);
    }
  }
  return { files, ids, temporary: entries.filter((e) => e.endsWith('.tmp')), unreadable };
}

/** The event ids of one archive file, one per line; throws when it is torn or a line has no id. */
export function readArchiveFile(file: string): string[] {
  const lines = gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  return lines.map((line) => {
    const id = archivedId(line);
    if (id === undefined) throw new Error(`a line without an event id: ${line.slice(0, 100)}`);
    return id;
  });
}

function archivedId(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The archive compared with the topic: each event exactly once. */
export interface ArchiveAudit {
  /** Distinct events in the topic. */
  readonly expected: number;
  /** Events of the topic archived exactly once. */
  readonly archivedOnce: number;
  /** Events of the topic not in the archive. */
  readonly missing: number;
  /** Extra copies in the archive (an event archived twice adds one). */
  readonly duplicated: number;
  /** Ids in the archive that are not in the topic. */
  readonly unexpected: number;
  /** A few missing ids. */
  readonly missingSample: readonly string[];
  /** A few ids archived more than once. */
  readonly duplicatedSample: readonly string[];
}

export function auditArchive(expectedIds: Iterable<string>, archived: ReadonlyMap<string, number>): ArchiveAudit {
  const expected = new Set(expectedIds);
  let archivedOnce = 0;
  let duplicated = 0;
  const missingSample: string[] = [];
  const duplicatedSample: string[] = [];
  for (const id of expected) {
    const copies = archived.get(id) ?? 0;
    if (copies === 1) archivedOnce += 1;
    if (copies === 0 && missingSample.length < 5) missingSample.push(id);
  }
  let unexpected = 0;
  for (const [id, copies] of archived) {
    if (!expected.has(id)) unexpected += 1;
    if (copies > 1) {
      duplicated += copies - 1;
      if (duplicatedSample.length < 5) duplicatedSample.push(id);
    }
  }
  const missing = [...expected].filter((id) => !archived.has(id)).length;
  return {
    expected: expected.size,
    archivedOnce,
    missing,
    duplicated,
    unexpected,
    missingSample,
    duplicatedSample,
  };
}
