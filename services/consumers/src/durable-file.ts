import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file so that it survives a crash or power loss once this resolves: a temporary file,
 * fsynced, renamed into place, and the folder fsynced (with any folder created for it). A
 * crash before the rename leaves only a `.tmp` file, which readers ignore; a failed write, sync
 * or rename (a full disk) removes its temporary file and rejects with the error it met.
 */
export async function writeFileDurably(file: string, data: Buffer): Promise<void> {
  const dir = path.dirname(file);
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) {
    // New folders are only durable once their parents' entries are synced.
    for (let d = dir; d.length >= created.length; d = path.dirname(d)) await syncDir(path.dirname(d));
  }
  const temporary = `${file}.${process.pid}.tmp`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'w');
    await handle.writeFile(data);
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await rename(temporary, file);
  } catch (error: unknown) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDir(dir);
}
