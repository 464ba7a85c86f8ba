import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ArchivedEvent } from '../src/consumers/archiver.js';

/** Every `.ndjson.gz` file under `dir`, relative paths, sorted. */
export function archiveFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ndjson.gz'))
      .sort();
  } catch {
    return [];
  }
}

/** The archived events under `dir`, in file order. */
export function readArchive(dir: string): ArchivedEvent[] {
  return archiveFiles(dir).flatMap((f) =>
    gunzipSync(readFileSync(path.join(dir, f)))
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ArchivedEvent),
  );
}

/** GET on the consumers' ops server. */
export async function getOps(port: number, route: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: response.status, text: await response.text() };
}
