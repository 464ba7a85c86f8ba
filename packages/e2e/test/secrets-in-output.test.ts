/**
 * Secrets are never printed: every service runs as a real process with secrets in its settings
 * (a password-protected Redis it really connects to, kafidx's token, the tracker's write keys),
 * serves events end to end, meets a wrong Redis password and a bad secret value, stops, and
 * nothing any process wrote (stdout and stderr) contains a secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, startRedisServer } from '@pushtech/devstack';
import { eventually, freshTopic, testDatabase, testInfra, uniqueName } from '@pushtech/devstack/testing';
import { startService, waitReady, type Running, type Service } from './service-process.js';

// Ten services start at once under tsx; on a busy 2-core machine that took 45 s.
const START_TIMEOUT_MS = 180_000;

async function status(url: string, init?: RequestInit): Promise<number> {
  return fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(2_000) }).then(
    async (r) => {
      await r.body?.cancel();
      return r.status;
    },
    () => 0,
  );
}

async function waitOutput(service: Running, pattern: RegExp, what: string): Promise<void> {
  await eventually(
    `${service.label}: ${what}`,
    () => (pattern.test(service.output()) ? true : undefined),
    START_TIMEOUT_MS,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; it printed:\n${service.output()}`);
  });
}

const secret = (prefix: string): string => `${prefix}-${randomBytes(12).toString('hex')}`;

describe('secrets never printed', () => {
  it('every service, with secrets in its settings, prints none of them', async (t) => {
    const secrets = {
      redisPassword: secret('redisPW'),
      wrongRedisPassword: secret('wrongPW'),
      configErrorPassword: secret('cfgPW'),
      kafidxToken: secret('kafidx-token'),
      badKafidxToken: `${secret('bad kafidx token')}!`,
      writeKey: secret('wk1'),
      otherWriteKey: secret('wk2'),
      wrongWriteKey: secret('wkX'),
      postgresPassword: secret('pgPW'),
    };

    // A Redis that wants a password, as production's does.
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-redis-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const redisServer = await startRedisServer({ port: await freePort(), dir, appendOnly: false });
    t.after(() => redisServer.stop());
    const admin = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    await admin.config('SET', 'requirepass', secrets.redisPassword);
    await admin.auth(secrets.redisPassword);
    t.after(() => admin.quit());
    const redisUrl = `redis://:${secrets.redisPassword}@127.0.0.1:${redisServer.port}`;
    const wrongRedisUrl = `redis://:${secrets.wrongRedisPassword}@127.0.0.1:${redisServer.port}`;
    const badRedisUrl = `http://pushtech:${secrets.configErrorPassword}@127.0.0.1:${redisServer.port}`;

    const infra = await testInfra();
    const topic = await freshTopic(t, { prefix: 'secrets', partitions: 1 });
    const dlq = await freshTopic(t, { prefix: 'secrets-dlq', partitions: 1 });
    const archive = mkdtempSync(path.join(tmpdir(), 'secrets-archive-'));
    t.after(() => rmSync(archive, { recursive: true, force: true }));
    const queue = uniqueName('secrets:hits');
    const keyPrefix = uniqueName('secrets');
    const kafka = {
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlq,
      KAFKA_CLIENT_ID: uniqueName('secrets'),
      SHUTDOWN_TIMEOUT_MS: '15000',
    };
    const ports = {
      tracker: await freePort(),
      wrongTracker: await freePort(),
      kafkastore: await freePort(),
      wrongKafkastore: await freePort(),
      consumers: await freePort(),
      kafidx: await freePort(),
      kafidxOps: await freePort(),
    };
    const trackerEnv = {
      ...kafka,
      REDIS_QUEUE_KEY: queue,
      TRACKER_HOST: '127.0.0.1',
      TRACKER_WORKERS: '1',
      TRACKER_WRITE_KEYS: `${secrets.writeKey},${secrets.otherWriteKey}`,
    };
    const kafkastoreEnv = { ...kafka, REDIS_QUEUE_KEY: queue, KAFKASTORE_HOST: '127.0.0.1' };
    const consumersEnv = {
      ...kafka,
      CONSUMERS: 'all',
      // postgres_sink's database, with a password in its URL (trust auth ignores it).
      POSTGRES_URL: await (async () => {
        const url = new URL(await testDatabase(t, 'secrets'));
        url.password = secrets.postgresPassword;
        return url.toString();
      })(),
      CONSUMERS_HOST: '127.0.0.1',
      CONSUMER_KEY_PREFIX: keyPrefix,
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      ARCHIVE_DIR: archive,
    };
    const kafidxEnv = { ...kafka, KAFIDX_HOST: '127.0.0.1', KAFIDX_OPS_PORT: String(ports.kafidxOps) };

    const running: Running[] = [];
    const exitedOnConfig: Running[] = [];
    const start = (label: string, name: Service, env: Record<string, string>, list = running): Running => {
      const service = startService(t, label, name, env, 'debug');
      list.push(service);
      return service;
    };

    const tracker = start('tracker', 'tracker', {
      ...trackerEnv,
      REDIS_URL: redisUrl,
      TRACKER_PORT: String(ports.tracker),
    });
    const kafkastore = start('kafkastore', 'kafkastore', {
      ...kafkastoreEnv,
      REDIS_URL: redisUrl,
      KAFKASTORE_PORT: String(ports.kafkastore),
      KAFKASTORE_INSTANCE: uniqueName('secrets'),
    });
    const consumers = start('consumers', 'consumers', {
      ...consumersEnv,
      REDIS_URL: redisUrl,
      CONSUMERS_PORT: String(ports.consumers),
    });
    const kafidx = start('kafidx', 'kafidx', {
      ...kafidxEnv,
      KAFIDX_TOKEN: secrets.kafidxToken,
      KAFIDX_PORT: String(ports.kafidx),
    });
    // The connection error path: the right Redis, the wrong password.
    const wrongTracker = start('tracker (wrong Redis password)', 'tracker', {
      ...trackerEnv,
      REDIS_QUEUE_KEY: uniqueName('secrets:unused'),
      REDIS_URL: wrongRedisUrl,
      TRACKER_PORT: String(ports.wrongTracker),
    });
    const wrongKafkastore = start('kafkastore (wrong Redis password)', 'kafkastore', {
      ...kafkastoreEnv,
      REDIS_QUEUE_KEY: uniqueName('secrets:unused'),
      REDIS_URL: wrongRedisUrl,
      KAFKASTORE_PORT: String(ports.wrongKafkastore),
      KAFKASTORE_INSTANCE: uniqueName('secrets-wrong'),
    });
    // A bad value for a secret setting: each service stops with a config error.
    const configErrorPorts = { TRACKER_PORT: '0', KAFKASTORE_PORT: '0', CONSUMERS_PORT: '0', KAFIDX_PORT: '0' };
    start(
      'tracker (bad REDIS_URL)',
      'tracker',
      { ...trackerEnv, ...configErrorPorts, REDIS_URL: badRedisUrl },
      exitedOnConfig,
    );
    start(
      'kafkastore (bad REDIS_URL)',
      'kafkastore',
      { ...kafkastoreEnv, ...configErrorPorts, REDIS_URL: badRedisUrl },
      exitedOnConfig,
    );
    start(
      'consumers (bad REDIS_URL)',
      'consumers',
      { ...consumersEnv, ...configErrorPorts, REDIS_URL: badRedisUrl },
      exitedOnConfig,
    );
    start(
      'kafidx (bad KAFIDX_TOKEN)',
      'kafidx',
      { ...kafidxEnv, ...configErrorPorts, KAFIDX_TOKEN: secrets.badKafidxToken },
      exitedOnConfig,
    );

    // The services really work with their secrets: events go through, a wrong key is refused.
    await Promise.all([
      waitReady(tracker, ports.tracker, START_TIMEOUT_MS),
      waitReady(kafkastore, ports.kafkastore, START_TIMEOUT_MS),
      waitReady(consumers, ports.consumers, START_TIMEOUT_MS),
      waitOutput(kafidx, /kafidx listening/, 'listening'),
    ]);
    const track = (query: string, headers: Record<string, string> = {}): Promise<number> =>
      status(`http://127.0.0.1:${ports.tracker}/t/secret_test?deviceid=d1${query}`, { headers });
    assert.equal(await track(`&write_key=${secrets.writeKey}`), 204);
    assert.equal(await track('', { 'X-Write-Key': secrets.otherWriteKey }), 204);
    assert.equal(await track(`&write_key=${secrets.wrongWriteKey}`), 401);
    await eventually(
      'both events counted by the consumers',
      async () => ((await admin.hget(`${keyPrefix}:event_counter:total`, 'secret_test')) === '2' ? true : undefined),
      60_000,
    );
    const login = await fetch(`http://127.0.0.1:${ports.kafidx}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: `http://127.0.0.1:${ports.kafidx}` },
      body: new URLSearchParams({ token: secrets.kafidxToken }).toString(),
      redirect: 'manual',
    });
    await login.body?.cancel();
    assert.equal(login.status, 303, 'kafidx accepts its token');

    await waitOutput(wrongTracker, /WRONGPASS/, 'the wrong password refused');
    await waitOutput(wrongKafkastore, /WRONGPASS/, 'the wrong password refused');
    for (const service of exitedOnConfig) assert.equal(await service.exited, 1, `${service.label} exit code`);

    await Promise.all(running.map((s) => s.stop()));

    // No secret appears anywhere in anything any process printed...
    const leaks: string[] = [];
    for (const service of [...running, ...exitedOnConfig]) {
      const output = service.output();
      assert.notEqual(output, '', `${service.label} printed something`);
      for (const [name, value] of Object.entries(secrets)) {
        const line = output.split('\n').find((l) => l.includes(value));
        if (line !== undefined) leaks.push(`${service.label} printed ${name}: ${line}`);
      }
    }
    assert.deepEqual(leaks, []);

    // ...and what they printed still says what happened, the secrets left out.
    assert.match(tracker.output(), /"redis ready"/);
    assert.ok(tracker.output().includes(`"redis://:***@127.0.0.1:${redisServer.port}"`), tracker.output());
    const [badTracker, badKafkastore, badConsumers, badKafidx] = exitedOnConfig.map((s) => s.output());
    for (const output of [badTracker, badKafkastore, badConsumers]) {
      assert.ok(output?.includes(`REDIS_URL="http://***@127.0.0.1:${redisServer.port}"`), output);
    }
    assert.match(badKafidx ?? '', /KAFIDX_TOKEN=\(secret, not shown\): expected 16-256 printable ASCII characters/);
  });
});
