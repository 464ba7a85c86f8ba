import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAlive, stopLeftovers } from '../src/leftovers.js';
import { freePort, isListening } from '../src/ports.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** A stand-in service: reports the addresses it was given, and records a graceful SIGTERM. */
function writeFakeService(root: string): string {
  const dir = path.join(root, 'services', 'fake');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'fake', private: true, scripts: { start: 'node service.mjs' } }),
  );
  writeFileSync(
    path.join(dir, 'service.mjs'),
    `import { writeFileSync } from 'node:fs';
process.on('SIGTERM', () => { writeFileSync(${JSON.stringify(path.join(root, 'stopped'))}, 'SIGTERM'); process.exit(0); });
console.log('FAKE-READY redis=' + process.env.REDIS_URL + ' kafka=' + process.env.KAFKA_BROKERS);
setInterval(() => {}, 1000);
`,
  );
  return path.join(root, 'services');
}

describe('devstack up (what npm start runs)', () => {
  it('starts Redis, Kafka, topics and services, then stops all of it on SIGINT', async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'devstack-up-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const [redisPort, kafkaPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', cli, 'up'], {
      env: {
        ...process.env,
        PUSHTECH_STATE_DIR: path.join(root, 'state'),
        PUSHTECH_SERVICES_DIR: writeFakeService(root),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        DEVSTACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
        DEVSTACK_KAFKA_HEAP_MB: '256',
        KAFKA_TOPIC: 'events',
        KAFKA_DLQ_TOPIC: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(async () => {
      // On a failed assertion the stack is still up: stop it the way a user would, and sweep.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      await stopLeftovers(path.join(root, 'state'), () => undefined);
    });
    const output: string[] = [];
    const seen = (pattern: RegExp): Promise<string> =>
      new Promise((resolve, reject) => {
        const found = output.find((l) => pattern.test(l));
        if (found) return resolve(found);
        const onLine = (line: string): void => {
          if (pattern.test(line)) resolve(line);
        };
        lineEvents.on('line', onLine);
        child.once('exit', () => reject(new Error(`exited before ${pattern}; output:\n${output.join('\n')}`)));
      });
    const lineEvents = createInterface({ input: child.stdout });
    createInterface({ input: child.stderr }).on('line', (l) => output.push(l));
    lineEvents.on('line', (l) => output.push(l));

    await seen(/^Ctrl-C stops everything\./);
    const fake = await seen(/FAKE-READY/);
    assert.equal(fake, `[fake] FAKE-READY redis=redis://127.0.0.1:${redisPort} kafka=127.0.0.1:${kafkaPort}`);
    assert.ok(
      output.some((l) => /^ {2}Topics +events, events\.dlq$/.test(l)),
      output.join('\n'),
    );
    const pids = output.flatMap((l) => [...l.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1])));
    assert.equal(pids.length, 3, `Redis, Kafka and the service each report a pid:\n${output.join('\n')}`);
    assert.ok(await isListening(redisPort));
    assert.ok(await isListening(kafkaPort));

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(readFileSync(path.join(root, 'stopped'), 'utf8'), 'SIGTERM', 'the service was stopped gracefully');
    // Each started process leads its own process group; no member of any group may survive.
    for (const pid of pids) assert.equal(isAlive(-pid), false, `process group ${pid} still running`);
    for (const port of [redisPort, kafkaPort, controllerPort])
      assert.equal(await isListening(port), false, `port ${port} in use`);
    assert.equal(existsSync(path.join(root, 'state', 'pids.json')), false);
    assert.ok(output.includes('devstack: stopped; no process left running'));
  });
});
