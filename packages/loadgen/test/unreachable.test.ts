/**
 * A run against a tracker that is not there says so and fails, instead of counting refused
 * connections for its whole duration; a tracker that goes away mid-run stops the run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pushtech/devstack';
import { runLoad } from '../src/index.js';

/**
 * Runs a CLI to its end; a CLI that runs past `limitMs` is killed and the test fails. The runs
 * below are asked for 600 s, so a limit of 120 s still tells "at once" from running on; a tsx
 * start-up alone took over 30 s with the shared 2-core machine at a load average of 22.
 */
function runCli(
  file: string,
  args: readonly string[],
  limitMs = 120_000,
): Promise<{ code: number | null; stderr: string }> {
  const script = fileURLToPath(new URL(`../src/${file}`, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdout.resume();
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      assert.equal(signal, null, `${file} still ran after ${limitMs} ms; stderr:\n${stderr}`);
      resolve({ code, stderr });
    }),
  );
}

describe('a target with no tracker behind it', () => {
  for (const [file, args] of [
    ['cli.ts', ['--rate', '100', '--duration', '600']],
    ['fuzz-cli.ts', ['--seconds', '600']],
  ] as const) {
    it(`${file} says so at once and exits non-zero`, async () => {
      const port = await freePort();
      const { code, stderr } = await runCli(file, [...args, '--target', `http://127.0.0.1:${port}`]);
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        new RegExp(`no tracker answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): start the pipeline with`),
      );
    });
  }

  it('runLoad stops once the target went away and nothing answered for a while', async () => {
    const server = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let closed = false;
    const result = await runLoad(
      { target: url, rate: 100, durationSeconds: 600, connections: 4, giveUpAfterSeconds: 1 },
      (s) => {
        if (!closed && s.acknowledged > 0) {
          closed = true;
          server.closeAllConnections();
          server.close();
        }
      },
    );
    assert.ok(result.acknowledged > 0, 'answers came while the target was up');
    assert.ok(result.failed > 0, 'then connections were refused');
    assert.match(result.gaveUp ?? '', new RegExp(`^no tracker answers at ${url}: \\d+ requests failed to connect`));
    assert.ok(result.scheduled < 100 * 600, 'the run stopped before its end');
  });
});
