import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lastLine, runToEnd } from '../src/child-process.js';

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

describe('runToEnd', () => {
  it('says how a command ended: its exit code, or the signal that killed it', async () => {
    const exited = await runToEnd('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(exited.code, 3);
    assert.equal(exited.signal, null);
    assert.equal(exited.ended, 'exit 3');
    assert.match(exited.text, /out/);
    assert.match(exited.text, /err/);
    assert.equal(exited.stderr, 'err\n', 'stderr alone, where a tool says why it failed');

    // A signal is not an exit code: before, this read "exit 1", as the tool's own failure does.
    const killed = await runToEnd('sh', ['-c', 'kill -KILL $$']);
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(killed.ended, 'killed by SIGKILL');
    assert.notEqual(killed.code, 0);

    const missing = await runToEnd('/nonexistent/tool', []);
    assert.equal(missing.code, 127);
    assert.equal(missing.ended, 'not started');
    assert.match(missing.text, /ENOENT/);
  });

  it('lastLine finds the line a tool ended on, after blank ones', () => {
    assert.equal(
      lastLine('config dump\n\tkey = 1\n\nError while writing meta.properties file /x\n\n'),
      'Error while writing meta.properties file /x',
    );
    assert.equal(lastLine(''), '(no output)');
  });
});
