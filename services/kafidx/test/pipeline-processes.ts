/**
 * The real pipeline's processes for kafidx's browser tests: each service started from its own
 * `src/main.ts` as a child process (SIGKILLed when the test ends), a GET that answers with the
 * status, and the folder screenshots go to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@pushtech/devstack';
import type { Cleanup } from '@pushtech/devstack/testing';

const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where screenshots go for a human to look at. */
export const artifacts = process.env['PUSHTECH_TEST_ARTIFACTS'] ?? path.join(repoRoot, '.test-artifacts');

/** Starts `services/<name>` as `npm start` would, with JSON logs; warnings and errors go to stderr. */
export function startService(t: Cleanup, name: string, env: Record<string, string>): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', path.join(servicesDir, name, 'src', 'main.ts')],
    {
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  return child;
}

/** GET on a fresh connection; resolves with the status code. */
export function get(port: number, target: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}
