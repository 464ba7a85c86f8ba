import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { encodeMessage } from '@pushtech/event';
import { createProducer, silentLogger } from '@pushtech/runtime';
import { sampleEvent } from '@pushtech/consumer-kit/testing';
import { freePort } from '@pushtech/devstack';
import {
  eventually,
  freshTopic,
  testAdmin,
  testDatabase,
  testInfra,
  testKafka,
  uniqueName,
  type Cleanup,
} from '@pushtech/devstack/testing';
import { archiveFiles, getOps, readArchive } from './helpers.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: string[];
}

function spawnConsumers(t: Cleanup, env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', CONSUMERS_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => void child.kill('SIGKILL'));
  return { child, exited, output };
}

/** The environment of one consumers process on fresh topics and a fresh Redis namespace. */
async function processEnv(t: Cleanup, partitions = 3): Promise<Record<string, string>> {
  const infra = await testInfra();
  const topic = await freshTopic(t, { prefix: 'events', partitions });
  const dlq = await freshTopic(t, { prefix: 'dlq', partitions: 1 });
  const keyPrefix = uniqueName('test');
  const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  t.after(async () => {
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  const archive = mkdtempSync(path.join(tmpdir(), 'archive-'));
  t.after(() => rmSync(archive, { recursive: true, force: true }));
  return {
    KAFKA_BROKERS: infra.kafkaBrokers,
    REDIS_URL: infra.redisUrl,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlq,
    KAFKA_CLIENT_ID: uniqueName('consumers'),
    CONSUMER_KEY_PREFIX: keyPrefix,
    ARCHIVE_DIR: archive,
    POSTGRES_URL: await testDatabase(t, 'consumers'),
    CONSUMERS_PORT: String(await freePort()),
    CONSUMER_SESSION_TIMEOUT_MS: '6000',
  };
}

async function produce(t: Cleanup, topic: string, values: readonly string[], perSend = 50): Promise<void> {
  const producer = createProducer(await testKafka(), silentLogger());
  await producer.connect();
  t.after(() => producer.disconnect());
  for (let i = 0; i < values.length; i += perSend) {
    await producer.send(
      topic,
      values.slice(i, i + perSend).map((value) => ({ value })),
    );
  }
}

describe('the consumers process', () => {
  it('runs every built-in consumer with CONSUMERS=all, serves the ops endpoints, exits 0 on SIGTERM', async (t) => {
    const env = await processEnv(t);
    const port = Number(env['CONSUMERS_PORT']);
    const proc = spawnConsumers(t, { ...env, CONSUMERS: 'all', CONSUMER_NAME: '' });
    const ready = await eventually(
      'ready',
      async () => {
        const r = await getOps(port, '/readyz');
        return r.status === 200 ? (JSON.parse(r.text) as { checks: Record<string, string> }) : undefined;
      },
      60_000,
    );
    assert.deepEqual(Object.keys(ready.checks).sort(), [
      'consumer:archiver',
      'consumer:event_counter',
      'consumer:metadata_counter',
      'consumer:postgres_sink',
      'consumer:stats_collector',
      'kafka-producer',
      'redis',
    ]);
    assert.equal((await getOps(port, '/healthz')).status, 200);
    await produce(t, env['KAFKA_TOPIC'] as string, [encodeMessage(sampleEvent({ type: 'hello' }))]);
    await eventually(
      'the event counted',
      async () => {
        const metrics = (await getOps(port, '/metrics')).text;
        const handled = ['event_counter', 'metadata_counter', 'stats_collector', 'archiver'].every((c) =>
          new RegExp(`pushtech_consumer_events_handled_total\\{[^}]*consumer="${c}"[^}]*\\} 1$`, 'm').test(metrics),
        );
        return handled ? metrics : undefined;
      },
      30_000,
    );
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.output.join(''));
  });

  it('kill -9 while archiving, then a restart: no event is missing from the archive', async (t) => {
    const env = await processEnv(t, 3);
    const topic = env['KAFKA_TOPIC'] as string;
    const archive = env['ARCHIVE_DIR'] as string;
    const events = Array.from({ length: 3000 }, (_, i) => sampleEvent({ params: [['i', String(i)]] }));
    const first = spawnConsumers(t, { ...env, CONSUMER_NAME: 'archiver' });
    await eventually(
      'the first consumer ready',
      async () => ((await getOps(Number(env['CONSUMERS_PORT']), '/readyz')).status === 200 ? true : undefined),
      60_000,
    );
    // The first half, then the kill as the second half starts: the archiver is killed with events
    // still coming (and may be writing the first half's last files).
    await produce(t, topic, events.slice(0, 1500).map(encodeMessage), 20);
    await eventually('some archive files', () => (archiveFiles(archive).length >= 1 ? true : undefined), 60_000);
    const producing = produce(t, topic, events.slice(1500).map(encodeMessage), 20);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null, 'killed');
    await producing;
    const archivedBefore = new Set(readArchive(archive).map((e) => e.id));
    assert.ok(archivedBefore.size < events.length, `killed mid-stream (${archivedBefore.size} archived)`);

    const second = spawnConsumers(t, { ...env, CONSUMER_NAME: 'archiver', CONSUMERS_PORT: String(await freePort()) });
    const ids = await eventually(
      'every event archived',
      () => {
        const archived = new Set(readArchive(archive).map((e) => e.id));
        return events.every((e) => archived.has(e.meta.id)) ? archived : undefined;
      },
      90_000,
    );
    assert.equal(ids.size, events.length);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output.join(''));
  });

  it('a consumer loop that dies ends the process non-zero', async (t) => {
    const env = await processEnv(t, 1);
    // The dead-letter topic does not exist: the poison message cannot be parked, the loop dies.
    const proc = spawnConsumers(t, {
      ...env,
      CONSUMER_NAME: 'event_counter',
      KAFKA_DLQ_TOPIC: uniqueName('missing-dlq'),
    });
    await produce(t, env['KAFKA_TOPIC'] as string, ['not a message']);
    assert.equal(await proc.exited, 1, proc.output.join(''));
    assert.match(proc.output.join(''), /fatal error; shutting down/);
    const committed = await (
      await testAdmin(t)
    ).groupOffsets(`${env['KAFKA_CLIENT_ID']}-event_counter`, env['KAFKA_TOPIC'] as string);
    assert.deepEqual(committed, [{ partition: 0, offset: '-1' }], 'the message was not committed');
  });

  it('a bad configuration stops the start with a message naming the variable', async (t) => {
    const proc = spawnConsumers(t, { CONSUMER_NAME: 'nope', KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(await proc.exited, 1);
    assert.match(proc.output.join(''), /CONSUMER_NAME="nope": unknown consumer nope; known: event_counter, /);
    const missing = spawnConsumers(t, { CONSUMER_NAME: 'archiver', ARCHIVE_DIR: '', KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(await missing.exited, 1);
    assert.match(missing.output.join(''), /consumer archiver: invalid configuration[\s\S]*ARCHIVE_DIR=\(unset\)/);
  });
});
