import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pushtech/devstack';
import { eventually, freshTopic, testInfra } from '@pushtech/devstack/testing';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function run(env: Record<string, string>): { output: () => string; exited: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main], {
    env: { ...process.env, LOG_FORMAT: 'json', KAFIDX_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return {
    output: () => out,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    kill: () => child.kill('SIGTERM'),
  };
}

describe('kafidx process', () => {
  it('refuses to start in production without KAFIDX_TOKEN', async () => {
    const k = run({ NODE_ENV: 'production', KAFIDX_TOKEN: '', KAFKA_BROKERS: '127.0.0.1:1', KAFKA_TOPIC: 'events' });
    assert.equal(await k.exited, 1);
    assert.match(k.output(), /KAFIDX_TOKEN is required in production/);
  });

  it('a local run generates a token and prints a login URL that works; SIGTERM stops it with 0', async (t) => {
    const infra = await testInfra();
    const topic = await freshTopic(t, { partitions: 1 });
    const port = await freePort();
    const opsPort = await freePort();
    const k = run({
      NODE_ENV: 'development',
      KAFIDX_TOKEN: '',
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: topic,
      KAFIDX_PORT: String(port),
      KAFIDX_OPS_PORT: String(opsPort),
    });
    t.after(() => k.kill());
    const url = await eventually(
      'the login URL',
      () => /(http:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]+)/.exec(k.output())?.[1],
      30_000,
    );
    const login = await fetch(url, { redirect: 'manual' });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.equal((await fetch(`http://127.0.0.1:${port}/`, { headers: { Cookie: cookie } })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 401);
    // Probes and metrics on the ops port only: the browser-facing port does not serve them.
    assert.equal((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
    k.kill();
    assert.equal(await k.exited, 0);
  });
});
