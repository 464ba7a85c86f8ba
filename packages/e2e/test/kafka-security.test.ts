/**
 * Kafka over TLS and SASL, as a managed cluster asks for it, against a real broker this test
 * starts (secured-broker.ts: SASL_SSL with PLAIN and SCRAM users made by Kafka's StorageTool,
 * SSL with client certificates required, certificates made with openssl):
 * - the pipeline works end to end: tracker → kafkastore (kafkajs over SCRAM-SHA-256, then
 *   @platformatic/kafka over SCRAM-SHA-512) → Kafka → the consumers service (mutual TLS), and
 *   the topics are created by an admin logging in with PLAIN;
 * - a wrong password, an untrusted certificate and a missing CA each leave kafkastore running,
 *   not ready, retrying with backoff, with one error that names the setting to fix and a
 *   bounded number of log lines; with both clients;
 * - a CA file that does not exist stops kafkastore at start with a config error naming it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '@pushtech/devstack';
import { eventually, testInfra, uniqueName } from '@pushtech/devstack/testing';
import { createAdmin, kafkaConnectionFrom, kafkaSettings, parseConfig, silentLogger } from '@pushtech/runtime';
import { makeCertificates, type Certificates } from './kafka-security/certificates.js';
import { startSecuredBroker, type SecuredBroker } from './kafka-security/secured-broker.js';
import { readiness, startService, waitReady, type Running } from './service-process.js';

// Several services start at once under tsx on a busy 2-core machine.
const START_TIMEOUT_MS = 180_000;
/** How long the failing kafkastores are watched for their log lines. */
const WINDOW_MS = 20_000;
/** kafkastore's longest pause between two connection attempts in this test. */
const RETRY_MAX_MS = 4_000;

interface LogLine {
  readonly msg?: string;
  readonly err?: unknown;
  readonly attempt?: number;
  readonly retryInMs?: number;
}

function logLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

describe('Kafka over TLS and SASL', () => {
  let dir = '';
  let certs: Certificates;
  let broker: SecuredBroker;
  let redisUrl = '';

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kafka-security-'));
    certs = makeCertificates(dir);
    broker = await startSecuredBroker(dir, certs);
    redisUrl = (await testInfra()).redisUrl;
  });
  after(async () => {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Settings for the SASL_SSL listener with `mechanism`, trusting the test CA. */
  const saslSsl = (mechanism: string, password = broker.password): Record<string, string> => ({
    KAFKA_BROKERS: broker.saslSsl,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA: certs.ca,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: broker.username,
    KAFKA_SASL_PASSWORD: password,
  });

  it('carries events end to end: tracker → kafkastore (both clients, SCRAM) → Kafka → consumers (mTLS)', async (t) => {
    const topic = uniqueName('secure');
    const dlq = `${topic}.dlq`;
    // The topics are created over SASL_SSL with PLAIN, as an operator's admin would.
    const admin = createAdmin(
      kafkaConnectionFrom(parseConfig('test', kafkaSettings, { KAFKA_TOPIC: topic, ...saslSsl('plain') }), 'test'),
      silentLogger(),
    );
    await admin.connect();
    t.after(() => admin.disconnect());
    assert.deepEqual(
      (
        await admin.ensureTopics([
          { topic, partitions: 2 },
          { topic: dlq, partitions: 1 },
        ])
      ).sort(),
      [dlq, topic].sort(),
    );

    const queue = uniqueName('secure:hits');
    const keyPrefix = uniqueName('secure');
    const common = { KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: dlq, KAFKA_CLIENT_ID: keyPrefix, REDIS_URL: redisUrl };
    const ports = {
      tracker: await freePort(),
      consumers: await freePort(),
      store1: await freePort(),
      store2: await freePort(),
    };
    const tracker = startService(t, 'tracker', 'tracker', {
      ...common,
      KAFKA_BROKERS: broker.saslSsl,
      REDIS_QUEUE_KEY: queue,
      TRACKER_HOST: '127.0.0.1',
      TRACKER_PORT: String(ports.tracker),
      TRACKER_WORKERS: '1',
    });
    const consumers = startService(t, 'consumers', 'consumers', {
      ...common,
      KAFKA_BROKERS: broker.mtls,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA: certs.ca,
      KAFKA_SSL_CERT: certs.clientCert,
      KAFKA_SSL_KEY: certs.clientKey,
      CONSUMERS: 'event_counter',
      CONSUMERS_HOST: '127.0.0.1',
      CONSUMERS_PORT: String(ports.consumers),
      CONSUMER_KEY_PREFIX: keyPrefix,
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
    });
    const kafkastore = (label: string, client: string, mechanism: string, port: number): Running =>
      startService(t, label, 'kafkastore', {
        ...common,
        ...saslSsl(mechanism),
        KAFKA_CLIENT: client,
        REDIS_QUEUE_KEY: queue,
        KAFKASTORE_HOST: '127.0.0.1',
        KAFKASTORE_PORT: String(port),
        KAFKASTORE_INSTANCE: uniqueName(label),
      });
    const store1 = kafkastore('kafkastore-kafkajs', 'kafkajs', 'scram-sha-256', ports.store1);
    const stores = [store1];
    await Promise.all([
      waitReady(tracker, ports.tracker, START_TIMEOUT_MS),
      waitReady(consumers, ports.consumers, START_TIMEOUT_MS),
      waitReady(store1, ports.store1, START_TIMEOUT_MS),
    ]);

    const redis = new Redis(redisUrl);
    t.after(() => void redis.quit());
    const counted = async (event: string): Promise<number> =>
      Number((await redis.hget(`${keyPrefix}:event_counter:total`, event)) ?? '0');
    const send = async (event: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const response = await fetch(`http://127.0.0.1:${ports.tracker}/t/${event}?deviceid=d${i}`);
        await response.body?.cancel();
        assert.equal(response.status, 204);
      }
    };

    /** Waits for the consumers to count `n` events named `event`; on timeout, says where they are. */
    const countedAll = async (event: string, n: number): Promise<void> => {
      await eventually(
        `${n} ${event} counted`,
        async () => ((await counted(event)) === n ? true : undefined),
        120_000,
      ).catch(async (error: unknown) => {
        const inKafka = (await admin.topicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
        const tails = [consumers, ...stores].map((s) => `${s.label}:\n${s.output().slice(-2500)}`).join('\n');
        throw new Error(`${String(error)}; counted ${await counted(event)}, ${inKafka} in Kafka\n${tails}`);
      });
    };
    await send('via_kafkajs', 25);
    await countedAll('via_kafkajs', 25);
    assert.equal(await store1.stop(), 0);

    const store2 = kafkastore('kafkastore-platformatic', 'platformatic', 'scram-sha-512', ports.store2);
    stores.push(store2);
    await waitReady(store2, ports.store2, START_TIMEOUT_MS);
    await send('via_platformatic', 25);
    await countedAll('via_platformatic', 25);
    // Exactly once each: nothing lost, nothing duplicated, and the password in no output.
    const offsets = await admin.topicOffsets(topic);
    assert.equal(
      offsets.reduce((sum, o) => sum + Number(o.high), 0),
      50,
    );
    for (const service of [tracker, consumers, store1, store2]) {
      assert.ok(!service.output().includes(broker.password), `${service.label} printed the SASL password`);
    }
  });

  it('a wrong password, an untrusted certificate and a missing CA: one error naming the setting, not ready, retried with backoff (both clients)', async (t) => {
    const topic = uniqueName('secure-refused');
    const cases = [
      { what: 'wrong password', env: saslSsl('scram-sha-256', 'not-the-password'), names: /KAFKA_SASL_PASSWORD/ },
      {
        what: 'untrusted certificate',
        env: { ...saslSsl('scram-sha-512'), KAFKA_SSL_CA: certs.otherCa },
        names: /KAFKA_SSL_CA \(/,
      },
      {
        what: 'missing CA',
        env: { ...saslSsl('plain'), KAFKA_SSL_CA: '' },
        names: /not signed by a CA this system trusts: set KAFKA_SSL_CA/,
      },
    ];
    const runs: { label: string; service: Running; port: number; names: RegExp }[] = [];
    for (const client of ['kafkajs', 'platformatic']) {
      for (const c of cases) {
        const port = await freePort();
        const label = `kafkastore ${client}, ${c.what}`;
        const service = startService(t, label, 'kafkastore', {
          ...c.env,
          KAFKA_CLIENT: client,
          KAFKA_TOPIC: topic,
          KAFKA_CLIENT_ID: uniqueName('refused'),
          REDIS_URL: redisUrl,
          REDIS_QUEUE_KEY: uniqueName('refused:hits'),
          KAFKASTORE_HOST: '127.0.0.1',
          KAFKASTORE_PORT: String(port),
          KAFKASTORE_INSTANCE: uniqueName('refused'),
          KAFKASTORE_RETRY_MAX_MS: String(RETRY_MAX_MS),
        });
        runs.push({ label, service, port, names: c.names });
      }
    }
    const retrying = (run: (typeof runs)[number]): LogLine[] =>
      logLines(run.service.output()).filter((l) => l.msg === 'cannot connect to Kafka; retrying');

    // Each one comes up, answers /readyz with 503 and says why.
    await Promise.all(
      runs.map((run) =>
        eventually(
          `${run.label}: a retried connection error`,
          async () => {
            if (!run.service.alive()) throw new Error(`${run.label} exited:\n${run.service.output()}`);
            return retrying(run).length >= 2 && (await readiness(run.port)).status === 503 ? true : undefined;
          },
          START_TIMEOUT_MS,
        ),
      ),
    );

    // Then a window: still alive and unready, a bounded number of lines, one error throughout.
    const before = new Map(runs.map((run) => [run, run.service.output().length]));
    const deadline = Date.now() + WINDOW_MS;
    while (Date.now() < deadline) {
      for (const run of runs) {
        assert.ok(run.service.alive(), `${run.label} exited:\n${run.service.output().slice(-3000)}`);
        assert.equal((await readiness(run.port)).status, 503, `${run.label} reported ready`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const report: string[] = [];
    for (const run of runs) {
      const all = retrying(run);
      const errors = new Set(all.map((l) => String(l.err).replace(/127\.0\.0\.1:\d+/g, 'broker')));
      assert.equal(errors.size, 1, `${run.label}: more than one error:\n${[...errors].join('\n')}`);
      assert.match([...errors][0] ?? '', run.names, `${run.label}: the error does not name the setting`);
      // Backoff: the pauses grew to the maximum instead of staying at the first one.
      assert.ok(
        all.some((l) => (l.retryInMs ?? 0) >= RETRY_MAX_MS / 2),
        `${run.label}: no pause reached ${RETRY_MAX_MS / 2} ms: ${all.map((l) => l.retryInMs).join(', ')}`,
      );
      const windowLines = run.service
        .output()
        .slice(before.get(run))
        .split('\n')
        .filter((l) => l !== '').length;
      const windowAttempts = logLines(run.service.output().slice(before.get(run))).filter(
        (l) => l.msg === 'cannot connect to Kafka; retrying',
      ).length;
      const kinds = new Map<string, number>();
      for (const l of logLines(run.service.output().slice(before.get(run)))) {
        kinds.set(l.msg ?? '?', (kinds.get(l.msg ?? '?') ?? 0) + 1);
      }
      const byKind = [...kinds].map(([msg, n]) => `${n}× ${msg.slice(0, 60)}`).join('; ');
      report.push(
        `${run.label}: ${windowLines} log lines, ${windowAttempts} attempts in ${WINDOW_MS / 1000} s (${byKind})`,
      );
      // At most one attempt per half of the longest pause (full jitter), and a few lines each.
      assert.ok(windowAttempts <= Math.ceil(WINDOW_MS / (RETRY_MAX_MS / 2)) + 1, report.at(-1));
      assert.ok(windowLines <= windowAttempts * 12 + 5, report.at(-1));
      assert.ok(!run.service.output().includes(broker.password), `${run.label} printed the SASL password`);
    }
    for (const line of report) t.diagnostic(line);
  });

  it('a KAFKA_SSL_CA that does not exist stops kafkastore at start, naming the setting', async (t) => {
    const service = startService(t, 'kafkastore, no CA file', 'kafkastore', {
      ...saslSsl('plain'),
      KAFKA_SSL_CA: path.join(dir, 'no-such-ca.pem'),
      KAFKA_TOPIC: uniqueName('secure-config'),
      REDIS_URL: redisUrl,
      REDIS_QUEUE_KEY: uniqueName('config:hits'),
      KAFKASTORE_HOST: '127.0.0.1',
      KAFKASTORE_PORT: '0',
      KAFKASTORE_INSTANCE: uniqueName('config'),
    });
    assert.equal(await service.exited, 1);
    assert.match(service.output(), /KAFKA_SSL_CA=\\?".*no-such-ca\.pem\\?": cannot read the file \(ENOENT/);
    assert.ok(!service.output().includes(broker.password));
  });
});
