/**
 * Disk trouble on demand, for the tests and chaos scenarios that prove Redis never answers a
 * write it could still lose: a small filesystem of its own (tmpfs), filled to the last page,
 * and Redis's background fsync thread held still, as on a disk too busy to finish an fsync.
 * Both need root (mount, cgroup v1 freezer); without it they throw
 * DiskPressureUnavailableError, which callers report as a skip with its reason.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

const FREEZER_ROOT = '/sys/fs/cgroup/freezer';
/** The thread Redis (6 and 7) runs its `appendfsync everysec` fsyncs on. */
const AOF_FSYNC_THREAD = 'bio_aof_fsync';

/** This machine or user cannot make the disk trouble (no root, no tmpfs, no freezer cgroup). */
export class DiskPressureUnavailableError extends Error {
  override readonly name = 'DiskPressureUnavailableError';
}

function message(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as Error & { stderr?: Buffer | string }).stderr;
    const text = stderr === undefined ? '' : String(stderr).trim();
    return text === '' ? error.message : text;
  }
  return String(error);
}

/**
 * Mounts a tmpfs of `bytes` on `dir` (created if missing); returns the unmount, which waits for
 * nothing: stop whatever has files open there first.
 */
export function mountSmallFilesystem(dir: string, bytes: number): () => void {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error: unknown) {
    throw new DiskPressureUnavailableError(`cannot mount a tmpfs on ${dir} (needs root): ${message(error)}`, {
      cause: error,
    });
  }
  let mounted = true;
  return () => {
    if (!mounted) return;
    mounted = false;
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // Still busy (a process that did not die yet): detach it now, freed when the last file closes.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
  };
}

export interface FilledFilesystem {
  /** Bytes the filler took. */
  readonly bytes: number;
  /** Bytes still free after filling (0 on tmpfs: it is filled page by page). */
  readonly freeAfter: number;
  /** Deletes the filler, giving the space back. */
  release(): void;
}

/** Fills the filesystem holding `dir` with a file until writes fail with ENOSPC. */
export function fillFilesystem(dir: string): FilledFilesystem {
  const file = path.join(dir, '.disk-pressure-filler');
  const fd = openSync(file, 'w');
  let bytes = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          bytes += writeSync(fd, chunk);
        } catch (error: unknown) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  const stats = statfsSync(dir);
  return { bytes, freeAfter: stats.bavail * stats.bsize, release: () => rmSync(file, { force: true }) };
}

/**
 * Freezes Redis's background fsync thread (only that thread: a freezer cgroup of its own), so
 * an `appendfsync everysec` Redis sees its fsync "in progress" until `resume`. Freezing starts
 * at once. A process with a frozen thread cannot finish dying: after a SIGKILL, call `resume`
 * before waiting for the exit. `resume` is idempotent and removes the cgroup.
 */
export function stallAofFsync(pid: number): () => void {
  if (!existsSync(path.join(FREEZER_ROOT, 'tasks'))) {
    throw new DiskPressureUnavailableError(`no cgroup v1 freezer at ${FREEZER_ROOT}: cannot stall an fsync thread`);
  }
  const taskDir = `/proc/${pid}/task`;
  const tid = readdirSync(taskDir).find(
    (t) => readFileSync(path.join(taskDir, t, 'comm'), 'utf8').trim() === AOF_FSYNC_THREAD,
  );
  if (tid === undefined) throw new Error(`process ${pid} has no ${AOF_FSYNC_THREAD} thread: is it redis-server?`);
  const group = path.join(FREEZER_ROOT, `pushtech-aof-stall-${pid}-${tid}`);
  try {
    mkdirSync(group);
    writeFileSync(path.join(group, 'tasks'), tid);
    writeFileSync(path.join(group, 'freezer.state'), 'FROZEN');
  } catch (error: unknown) {
    if (existsSync(group)) rmdirSync(group);
    throw new DiskPressureUnavailableError(`cannot freeze thread ${tid} (needs root): ${message(error)}`, {
      cause: error,
    });
  }
  let frozen = true;
  return () => {
    if (!frozen) return;
    frozen = false;
    writeFileSync(path.join(group, 'freezer.state'), 'THAWED');
    try {
      // Back to the root group, unless the process is gone (SIGKILLed) and took the thread along.
      writeFileSync(path.join(FREEZER_ROOT, 'tasks'), tid);
    } catch {
      // the thread already exited
    }
    // The kernel empties the group only once the thread is really gone or moved: retry briefly.
    const until = Date.now() + 2_000;
    for (;;) {
      try {
        rmdirSync(group);
        return;
      } catch (error: unknown) {
        if (Date.now() > until) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  };
}
