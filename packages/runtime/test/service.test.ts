import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { commonSettings } from '../src/common-settings.js';
import { ConfigError, parseConfig, setting } from '../src/config.js';
import type { Env } from '../src/dotenv.js';
import { runService, type ServiceDefinition, type ServiceProcess } from '../src/service.js';

const schema = { ...commonSettings, DEMO_PORT: setting.integer({ min: 0, max: 65_535, default: 0 }) };
type DemoConfig = ReturnType<typeof demoSettings>;
const demoSettings = (env: Env) => parseConfig('demo', schema, env);

/** A process stand-in: signals and IPC events are emitted by the test, exits and stderr recorded. */
interface FakeProcess extends ServiceProcess {
  readonly emitter: EventEmitter & { connected: boolean };
  readonly exits: number[];
  readonly stderrText: () => string;
  readonly exited: Promise<number>;
}

function fakeProcess(t: TestContext, env: Env = {}, connected = true): FakeProcess {
  // No .env above a fresh temporary folder: the environment is only what the test gives.
  const cwd = mkdtempSync(path.join(tmpdir(), 'run-service-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const emitter = Object.assign(new EventEmitter(), { connected });
  const exits: number[] = [];
  let stderr = '';
  let exited: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (exited = resolve));
  return {
    env: { LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: '1000', ...env },
    cwd,
    stderr: { write: (text: string) => (stderr += text) },
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
    process: emitter as unknown as NodeJS.Process,
    emitter,
    exits,
    stderrText: () => stderr,
    exited: done,
  };
}

function demo(start: ServiceDefinition<DemoConfig>['start'], extra: Partial<ServiceDefinition<DemoConfig>> = {}) {
  return { name: 'demo', settings: demoSettings, start, ...extra };
}

describe('runService', () => {
  it('refuses a bad setting with one line naming the variable, before starting anything', async (t) => {
    const host = fakeProcess(t, { DEMO_PORT: 'eighty' });
    let started = false;
    await runService(
      demo(() => {
        started = true;
        return Promise.resolve();
      }),
      host,
    );
    assert.deepEqual(host.exits, [1]);
    assert.equal(started, false);
    assert.match(host.stderrText(), /^demo: invalid configuration .*\n {2}DEMO_PORT="eighty": expected an integer/s);
  });

  it('gives start the parsed config and the environment, and stops its steps at SIGTERM with exit 0', async (t) => {
    const host = fakeProcess(t, { DEMO_PORT: '8080', DEMO_EXTRA: 'read by a part' });
    const order: string[] = [];
    await runService(
      demo(({ config, env, lifecycle }) => {
        assert.equal(config.DEMO_PORT, 8080);
        assert.ok(Object.isFrozen(config));
        assert.equal(env.DEMO_EXTRA, 'read by a part');
        lifecycle.onShutdownStart(() => order.push('not ready'));
        lifecycle.onStop('producer', () => void order.push('producer'));
        lifecycle.onStop('server', () => void order.push('server'));
        return Promise.resolve();
      }),
      host,
    );
    assert.deepEqual(host.exits, []);
    host.emitter.emit('SIGTERM');
    assert.equal(await host.exited, 0);
    assert.deepEqual(order, ['not ready', 'server', 'producer']);
  });

  it('stops what a failed start had already started, and exits 1', async (t) => {
    const host = fakeProcess(t);
    const stopped: string[] = [];
    await runService(
      demo(async ({ lifecycle }) => {
        lifecycle.onStop('redis', () => void stopped.push('redis'));
        await Promise.resolve();
        throw new Error('Kafka unreachable');
      }),
      host,
    );
    assert.equal(await host.exited, 1);
    assert.deepEqual(stopped, ['redis']);
  });

  it('reports a setting refused by a part as a configuration error, on stderr', async (t) => {
    const host = fakeProcess(t);
    await runService(
      demo(() => Promise.reject(new ConfigError('demo', ['CONSUMER_X=1: must be at least 2']))),
      host,
    );
    assert.equal(await host.exited, 1);
    assert.match(host.stderrText(), /CONSUMER_X=1: must be at least 2/);
  });

  it('a worker stops when its supervisor closes the channel, and at once when it is already gone', async (t) => {
    const worker = fakeProcess(t);
    await runService(
      demo(() => Promise.resolve(), { stopOn: () => 'supervisor' }),
      worker,
    );
    assert.deepEqual(worker.exits, []);
    worker.emitter.emit('disconnect');
    assert.equal(await worker.exited, 0);

    const orphan = fakeProcess(t, {}, false);
    await runService(
      demo(() => Promise.resolve(), { stopOn: () => 'supervisor' }),
      orphan,
    );
    assert.equal(await orphan.exited, 0);
  });

  it('leaves signals to a start that handles them itself', async (t) => {
    const host = fakeProcess(t);
    await runService(
      demo(() => Promise.resolve(), { stopOn: () => 'none' }),
      host,
    );
    assert.equal(host.emitter.listenerCount('SIGTERM'), 0);
    assert.equal(host.emitter.listenerCount('uncaughtException'), 0);
  });
});
