import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'guarded-bench.ts');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Every miniature bench started: one a failed check left running is killed at the end. */
const benches: ChildProcess[] = [];
after(() => {
  for (const bench of benches) if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGKILL');
});

/** Starts the miniature bench, stops it with `signal`; what it had started, and how it ended. */
async function stopWith(signal: NodeJS.Signals, env: Record<string, string> = {}) {
  const bench = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  benches.push(bench);
  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
  const [line] = (await once(createInterface({ input: bench.stdout }), 'line')) as [string];
  const started = JSON.parse(line) as { detached: number; child: number; dir: string };
  assert.ok(alive(started.detached) && alive(started.child) && existsSync(started.dir), 'all started');
  bench.kill(signal);
  return { started, code: await exited };
}

describe('a bench stopped by a signal', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: stops its children and detached processes, removes its folders, exits ${code}`, async () => {
      const { started, code: exitCode } = await stopWith(signal);
      assert.equal(exitCode, code);
      assert.ok(await gone(started.child, 5_000), 'the tracked child is gone');
      assert.ok(await gone(started.detached, 5_000), 'the detached process is gone');
      assert.equal(existsSync(started.dir), false, 'the temporary folder is gone');
    });
  }

  it('control: a detached process it does not track outlives it', async () => {
    const { started } = await stopWith('SIGTERM', { GUARD_PID: 'off' });
    try {
      assert.equal(await gone(started.detached, 1_000), false);
    } finally {
      process.kill(started.detached, 'SIGKILL');
    }
  });
});
