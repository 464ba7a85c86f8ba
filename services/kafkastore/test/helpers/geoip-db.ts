import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Cleanup } from '@pushtech/devstack/testing';

const writer = fileURLToPath(new URL('../fixtures/write-test-mmdb.pl', import.meta.url));

/** Generates a test .mmdb (see write-test-mmdb.pl) in a temp dir removed after the test. */
export async function generateGeoIpDb(t: Cleanup, layout: 'city' | 'flat', recordSize?: RecordSize): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kafkastore-geoip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `test-${layout}.mmdb`);
  await writeGeoIpDb(layout, file, undefined, recordSize);
  return file;
}

/** Bits per search tree record; the writer's default is 28. */
export type RecordSize = 24 | 28 | 32;

/** Writes a test database to `file`; `moved` is the variant with London moved to Dublin. */
export async function writeGeoIpDb(
  layout: 'city' | 'flat',
  file: string,
  variant?: 'moved',
  recordSize?: RecordSize,
): Promise<void> {
  await promisify(execFile)('perl', [writer, layout, file, ...(variant ? [variant] : [])], {
    env: { ...process.env, ...(recordSize ? { RECORD_SIZE: String(recordSize) } : {}) },
  });
}
