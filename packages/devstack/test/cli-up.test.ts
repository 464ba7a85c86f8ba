import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { which } from '../src/commands.js';
import { isAlive, stopLeftovers } from '../src/leftovers.js';
import { freePort, isListening } from '../src/ports.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/**
 * A stand-in service: reports the addresses it was given, records its pid and a graceful
 * SIGTERM, logs one pino-style JSON line, and answers /readyz on <NAME>_PORT with 200 only once
 * the test created its `ready-<name>` file.
 */
function writeFakeService(root: string, name = 'fake'): string {
  const dir = path.join(root, 'services', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'fake', private: true, scripts: { start: 'node service.mjs' } }),
  );
  const file = (what: string): string => JSON.stringify(path.join(root, `${what}-${name}`));
  writeFileSync(
    path.join(dir, 'service.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
writeFileSync(${file('pid')}, String(process.pid));
process.on('SIGTERM', () => { writeFileSync(${file('stopped')}, 'SIGTERM'); process.exit(0); });
console.log('FAKE-READY redis=' + process.env.REDIS_URL + ' kafka=' + process.env.KAFKA_BROKERS);
console.log(JSON.stringify({ level: 'info', time: '2026-01-02T03:04:05.678Z', service: 'fake', msg: 'an event',
  format: process.env.LOG_FORMAT, err: { type: 'Error', message: 'two\\nlines', stack: 'Error: two\\nlines\\n    at x' } }));
let last = 0;
createServer((req, res) => {
  const status = req.url === '/readyz' && !existsSync(${file('ready')}) ? 503 : 200;
  if (status !== last) console.log('READYZ ' + status);
  last = status;
  res.writeHead(status).end();
}).listen(Number(process.env.${name.toUpperCase()}_PORT), '127.0.0.1');
`,
  );
  return path.join(root, 'services');
}

describe('devstack up (what npm start runs)', () => {
  it('starts Redis, Kafka, topics and services, is up once all are ready, restarts a crashed one, stops all on SIGINT', async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'devstack-up-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const [redisPort, consumersRedisPort, kafkaPort, controllerPort, fakePort, consumersPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    writeFakeService(root, 'consumers');
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', cli, 'up'], {
      env: {
        ...process.env,
        PUSHTECH_STATE_DIR: path.join(root, 'state'),
        PUSHTECH_SERVICES_DIR: writeFakeService(root),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        CONSUMERS_REDIS_URL: `redis://127.0.0.1:${consumersRedisPort}`,
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        DEVSTACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
        DEVSTACK_KAFKA_HEAP_MB: '256',
        KAFKA_TOPIC: 'events',
        KAFKA_DLQ_TOPIC: '',
        FAKE_PORT: String(fakePort),
        CONSUMERS_PORT: String(consumersPort),
        LOG_FORMAT: 'pretty',
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
        lines.on('line', onLine);
        child.once('exit', () => reject(new Error(`exited before ${pattern}; output:\n${output.join('\n')}`)));
      });
    // stdout (services, the summary) and stderr (the devstack's own messages) alike.
    const lines = new EventEmitter();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (l) => {
        output.push(l);
        lines.emit('line', l);
      });
    }
    if (process.env['DEVSTACK_TEST_VERBOSE']) {
      for (const stream of [child.stdout, child.stderr]) stream.on('data', (c: Buffer) => process.stderr.write(c));
    }

    // Not up while a service answers /readyz with 503; up once every one answers 200.
    await seen(/^\[fake\] READYZ 503$/);
    await seen(/^\[consumers\] READYZ 503$/);
    assert.equal(output.filter((l) => /pipeline is up|Ctrl-C/.test(l)).length, 0, output.join('\n'));
    writeFileSync(path.join(root, 'ready-fake'), '');
    await seen(/^\[fake\] READYZ 200$/);
    assert.equal(output.filter((l) => /pipeline is up|Ctrl-C/.test(l)).length, 0, 'consumers is not ready yet');
    writeFileSync(path.join(root, 'ready-consumers'), '');
    await seen(/^Ctrl-C stops everything\./);
    assert.ok(output.some((l) => /^Pushtech pipeline is up /.test(l)));
    // A service's JSON log line is shown as one line, with the error on it.
    assert.equal(
      await seen(/^\[fake\] .*an event/),
      '[fake] 03:04:05.678 INFO  an event format=json err="Error: two\\nlines"',
    );
    const fake = await seen(/^\[fake\] FAKE-READY/);
    assert.equal(fake, `[fake] FAKE-READY redis=redis://127.0.0.1:${redisPort} kafka=127.0.0.1:${kafkaPort}`);
    // The consumers get a Redis of their own, never the tracker's buffer.
    const consumers = await seen(/^\[consumers\] FAKE-READY/);
    assert.equal(
      consumers,
      `[consumers] FAKE-READY redis=redis://127.0.0.1:${consumersRedisPort} kafka=127.0.0.1:${kafkaPort}`,
    );
    assert.ok(
      output.some((l) => /^ {2}Topics +events, events\.dlq$/.test(l)),
      output.join('\n'),
    );
    const pids = output.flatMap((l) => [...l.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1])));
    // The local Prometheus (DEVSTACK_PROMETHEUS, on by default) where Debian's package is installed.
    const prometheus = which('prometheus') === undefined ? 0 : 1;
    assert.equal(
      pids.length,
      6 + prometheus,
      `both Redis, Kafka, PostgreSQL, both services and Prometheus each report a pid:\n${output.join('\n')}`,
    );
    assert.ok(await isListening(redisPort));
    assert.ok(await isListening(consumersRedisPort));
    assert.ok(
      existsSync(path.join(root, 'state', 'redis-consumers', 'appendonlydir')),
      'its own AOF, in the state dir',
    );
    assert.ok(await isListening(kafkaPort));

    // kill -9 of a service: restarted after a pause, ready again, the rest untouched.
    const firstPid = Number(readFileSync(path.join(root, 'pid-fake'), 'utf8'));
    process.kill(firstPid, 'SIGKILL');
    assert.match(
      await seen(/^devstack: fake crashed/),
      /^devstack: fake crashed \(exit code \d+\); restarting it in 1 s$/,
    );
    const again = await seen(/^devstack: fake is ready again/);
    pids.push(Number(/\(pid (\d+)\)/.exec(again)?.[1]));
    const secondPid = Number(readFileSync(path.join(root, 'pid-fake'), 'utf8'));
    assert.notEqual(secondPid, firstPid);
    assert.equal(isAlive(secondPid), true);
    assert.equal(output.filter((l) => /consumers crashed/.test(l)).length, 0);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    for (const name of ['fake', 'consumers']) {
      assert.equal(
        readFileSync(path.join(root, `stopped-${name}`), 'utf8'),
        'SIGTERM',
        `${name} was stopped gracefully`,
      );
    }
    // Each started process leads its own process group; no member of any group may survive.
    for (const pid of pids) assert.equal(isAlive(-pid), false, `process group ${pid} still running`);
    for (const port of [redisPort, consumersRedisPort, kafkaPort, controllerPort])
      assert.equal(await isListening(port), false, `port ${port} in use`);
    assert.equal(existsSync(path.join(root, 'state', 'pids.json')), false);
    assert.ok(output.includes('devstack: stopped; no process left running'));
    // Stopping is not crashing: nothing was restarted while the stack went down.
    assert.equal(output.filter((l) => /crashed/.test(l)).length, 1, output.join('\n'));
  });
});
