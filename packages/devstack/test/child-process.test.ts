import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/child-process.ts', import.meta.url));

/**
 * In a Node process of its own with nothing else to do: start `sleep 30`, unref it (as the test
 * cluster and `devstack run` do), then `how` it and say when that resolved.
 */
function waitInAnEmptyProcess(how: 'kill' | 'stop', dir: string): { status: number | null; stdout: string } {
  const script = `
    const { startProcess } = await import(${JSON.stringify(source)});
    const child = startProcess({ name: 'sleeper', command: 'sleep', args: ['30'], logFile: ${JSON.stringify(path.join(dir, 'sleeper.log'))} });
    child.unref();
    await ${how === 'kill' ? 'child.kill()' : 'child.stop(5000)'};
    console.log('gone', child.hasExited);
  `;
  const result = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: result.status, stdout: result.stdout };
}

describe('startProcess', () => {
  for (const how of ['kill', 'stop'] as const) {
    it(`${how}() of an unref'd child holds the event loop until the child is gone`, (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'child-process-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      // Without the hold, Node ends with the wait pending: exit 13, nothing printed.
      assert.deepEqual(waitInAnEmptyProcess(how, dir), { status: 0, stdout: 'gone true\n' });
    });
  }
});
