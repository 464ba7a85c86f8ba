/**
 * The short fuzz run inside `npm test` (the long one is `npm run fuzz`): malformed traffic at a
 * real tracker with a real kafkastore behind it. Pass: the tracker never crashes, its memory
 * stays flat, every refusal is a 4xx with a reason, every accepted event reaches Kafka and
 * decodes cleanly (nothing dead-lettered), events sent through forwarding headers carry the
 * client IP they must, and no aborted body is left in flight.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeMessage } from '@pushtech/event';
import { createConsumer, silentLogger } from '@pushtech/runtime';
import { freePort } from '@pushtech/devstack';
import {
  eventually,
  freshTopic,
  testInfra,
  testKafka,
  testRedis,
  uniqueName,
  type Cleanup,
} from '@pushtech/devstack/testing';
import { MARKER_PARAM, answerProblem, fuzzCases, sendCase, type FuzzAnswer } from '../src/fuzz.js';

const services = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'services');
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 8);

function start(t: Cleanup, name: string, env: Record<string, string>): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', path.join(services, name, 'src', 'main.ts')],
    {
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'error', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  return child;
}

const rssMiB = (pid: number): number =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

describe('fuzzing the tracker', () => {
  it('survives malformed traffic; refusals carry reasons; what it accepts reaches Kafka intact', async (t) => {
    const infra = await testInfra();
    const redis = await testRedis(t);
    const queue = redis.key('hits');
    const topic = await freshTopic(t, { partitions: 2 });
    const dlq = await freshTopic(t, { partitions: 1 });
    const port = await freePort();
    const tracker = start(t, 'tracker', {
      REDIS_URL: infra.redisUrl,
      REDIS_QUEUE_KEY: queue,
      TRACKER_HOST: '127.0.0.1',
      TRACKER_PORT: String(port),
      TRACKER_WORKERS: '1',
      // The fuzz client plays a proxy, so forwarding headers are believed and can be checked.
      TRACKER_TRUSTED_PROXIES: '127.0.0.1/32',
      TRACKER_TRUST_X_REAL_IP: 'true',
    });
    start(t, 'kafkastore', {
      REDIS_URL: infra.redisUrl,
      REDIS_QUEUE_KEY: queue,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlq,
      KAFKASTORE_PORT: '0',
      KAFKASTORE_INSTANCE: uniqueName('fuzz'),
      GEOIP_DB: '',
    });
    await eventually(
      'tracker ready',
      async () =>
        (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
      // A tsx start-up took over 30 s with the shared 2-core machine at a load average of 22.
      120_000,
    );

    const cases = fuzzCases(Number(process.env['FUZZ_SEED'] ?? 1234));
    const answers: FuzzAnswer[] = [];
    let accepted = 0;
    // uWebSockets.js aborts a pending response when a pipelined request follows it: the first
    // request's event may be stored though no answer comes (the client retries). Counted here
    // so the Kafka check can allow for them.
    let pipelined = 0;
    let aborted = 0;
    // The client IP each stored forwarding-header case must carry in Kafka, by marker.
    const expectedIps = new Map<string, string>();
    const worker = async (until: number): Promise<void> => {
      while (Date.now() < until) {
        const fuzzCase = cases.next().value as Parameters<typeof sendCase>[1];
        if (fuzzCase.requests > 1) pipelined += 1;
        if (fuzzCase.abort) aborted += 1;
        for (const answer of await sendCase(port, fuzzCase)) {
          answers.push(answer);
          if (answer.expect && answer.status === 204) expectedIps.set(answer.expect.marker, answer.expect.ip);
          if (answer.status === 204 || (answer.status === 200 && !answer.body.startsWith('{'))) accepted += 1;
          else if (answer.status === 200) accepted += (JSON.parse(answer.body) as { accepted: number }).accepted;
        }
      }
    };
    const pid = tracker.pid ?? assert.fail('no tracker pid');
    await Promise.all(Array.from({ length: 16 }, () => worker(Date.now() + 2000)));
    const rssAfterWarmup = rssMiB(pid);
    await Promise.all(Array.from({ length: 16 }, () => worker(Date.now() + SECONDS * 1000)));
    const rssAtEnd = rssMiB(pid);

    const problems = answers.map(answerProblem).filter((p): p is string => p !== undefined);
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} answers broke the rules`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the tracker is alive');
    assert.ok(
      rssAtEnd - rssAfterWarmup < 60,
      `memory flat: ${rssAfterWarmup.toFixed(0)} -> ${rssAtEnd.toFixed(0)} MiB`,
    );
    const byKind = new Map<string, number>();
    for (const a of answers)
      byKind.set(`${a.kind} ${a.status ?? 'closed'}`, (byKind.get(`${a.kind} ${a.status ?? 'closed'}`) ?? 0) + 1);
    assert.ok(accepted > 0 && answers.length > accepted, 'the run had both accepted and refused requests');
    assert.ok(aborted > 0 && expectedIps.size > 0, `aborted bodies (${aborted}) and forwarding headers were tried`);
    // An aborted upload settles at once: nothing stays in flight (it leaked one request each).
    await eventually(
      'no request left in flight',
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /^pushtech_tracker_in_flight_requests(\{[^}]*\})? 0$/m.test(text) ? true : undefined;
      },
      10_000,
    );

    // Every accepted event reaches Kafka and decodes; nothing is dead-lettered.
    const received: string[] = [];
    const undecodable: string[] = [];
    const consumer = createConsumer(await testKafka(), silentLogger(), {
      groupId: uniqueName('fuzz-audit'),
      topics: [topic, dlq],
      fromBeginning: true,
    });
    t.after(() => consumer.stop());
    let deadLetters = 0;
    const wrongIps: string[] = [];
    let ipsChecked = 0;
    await consumer.start((batch) => {
      for (const m of batch.messages) {
        if (batch.topic === dlq) {
          deadLetters += 1;
          continue;
        }
        const text = m.value?.toString('utf8') ?? '';
        const decoded = decodeMessage(text);
        if (!decoded.ok) {
          undecodable.push(`${decoded.error}: ${text.slice(0, 100)}`);
          continue;
        }
        received.push(decoded.value.meta.id);
        const marker = decoded.value.params.find(([k]) => k === MARKER_PARAM)?.[1];
        const expected = marker === undefined ? undefined : expectedIps.get(marker);
        if (expected === undefined) continue;
        ipsChecked += 1;
        if (decoded.value.meta.ip !== expected)
          wrongIps.push(`${marker}: ${decoded.value.meta.ip}, expected ${expected}`);
      }
      return Promise.resolve();
    });
    await eventually(
      `${accepted} events in Kafka`,
      () => (received.length + undecodable.length >= accepted ? true : undefined),
      60_000,
    );
    assert.deepEqual(undecodable, []);
    assert.deepEqual(wrongIps.slice(0, 10), [], `${wrongIps.length} events carry a client IP they must not`);
    assert.ok(
      ipsChecked >= expectedIps.size,
      `every forwarding-header case found (${ipsChecked} of ${expectedIps.size})`,
    );
    const distinct = new Set(received).size;
    assert.ok(distinct >= accepted, `every acknowledged event is in Kafka (${distinct} >= ${accepted})`);
    assert.ok(
      distinct <= accepted + pipelined,
      `nothing else but stored-unanswered pipelined requests (${distinct} <= ${accepted} + ${pipelined})`,
    );
    assert.equal(deadLetters, 0);
    console.log(
      `fuzz: ${answers.length} answers, ${accepted} events accepted, ${pipelined} pipelined cases, ${aborted} aborted bodies, ${ipsChecked} client IPs checked, RSS ${rssAfterWarmup.toFixed(0)} -> ${rssAtEnd.toFixed(0)} MiB`,
    );
    console.log(
      [...byKind.entries()]
        .sort()
        .map(([k, n]) => `  ${k}: ${n}`)
        .join('\n'),
    );
  });
});
