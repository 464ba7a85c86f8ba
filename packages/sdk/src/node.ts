/** Node only (`@pushtech/sdk/node`): a queue storage in files, for servers, CLIs and tests. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { QueueStorage } from './types.js';

/**
 * Keeps each storage key in `<directory>/<key>.json`, written whole to a temporary file and
 * renamed over the old one, so a crash leaves either the old queue or the new one. One process
 * per directory: two clients of different processes would overwrite each other's queue.
 */
export function fileStorage(directory: string): QueueStorage {
  const fileOf = (key: string): string => path.join(directory, `${encodeURIComponent(key)}.json`);
  return {
    getItem(key) {
      try {
        return readFileSync(fileOf(key), 'utf8');
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`pushtech fileStorage: cannot read ${fileOf(key)}`, { cause: error });
      }
    },
    setItem(key, value) {
      const file = fileOf(key);
      const temporary = `${file}.${process.pid}.tmp`;
      mkdirSync(directory, { recursive: true });
      writeFileSync(temporary, value);
      renameSync(temporary, file);
    },
  };
}
