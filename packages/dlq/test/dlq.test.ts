import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import {
  createEventIdGenerator,
  decodeDeadLetter,
  decodeMessage,
  encodeMessage,
  encodeRawHit,
  type RawHit,
} from '@pushtech/event';
import {
  createAdmin,
  createProducer,
  readTopicByOffsets,
  silentLogger,
  type IncomingMessage,
  type KafkaAdmin,
  type OutgoingMessage,
} from '@pushtech/runtime';
import { deadLetterMessage } from '@pushtech/kafkastore/library';
import { toDeadLetterMessage } from '@pushtech/consumer-kit';
import { sampleEvent } from '@pushtech/consumer-kit/testing';
import { freshTopic, testInfra, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { main } from '../src/main.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const nextId = createEventIdGenerator();
const DAY = 86_400_000;

function rawHit(overrides: Partial<RawHit> = {}): RawHit {
  return {
    id: nextId(),
    ts: Date.now() - 60_000,
    ip: '81.2.69.160',
    host: 't.example.com',
    pod: '10.1.2.3',
    type: 'app_open',
    params: 'deviceid=dev-raw&ts=1',
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    ...overrides,
  };
}

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

/** A dead-letter topic filled by the real writers, and the command run against it in-process. */
interface Fixture {
  readonly events: string;
  readonly dlq: string;
  readonly env: Record<string, string>;
  readonly admin: KafkaAdmin;
  readonly clientId: string;
  /** Places in the dead-letter topic, by name. */
  readonly at: Record<string, string>;
  readonly hits: { tooLarge: RawHit; legacy: RawHit };
  readonly kitEvent: ReturnType<typeof sampleEvent>;
  readonly legacyKitEvent: ReturnType<typeof sampleEvent>;
  run(...argv: string[]): Promise<Run>;
  readEvents(): Promise<IncomingMessage[]>;
}

async function fixture(t: Cleanup): Promise<Fixture> {
  const infra = await testInfra();
  const events = await freshTopic(t, { prefix: 'dlq-events', partitions: 2 });
  const dlq = await freshTopic(t, { prefix: 'dlq-letters', partitions: 2 });
  const clientId = uniqueName('dlq-test');
  const env = {
    KAFKA_BROKERS: infra.kafkaBrokers,
    KAFKA_TOPIC: events,
    KAFKA_DLQ_TOPIC: dlq,
    KAFKA_CLIENT_ID: clientId,
    KAFKA_PARTITION_KEY: 'deviceid',
    GEOIP_DB: '',
  };
  const admin = createAdmin(await testKafka(), silentLogger());
  await admin.connect();
  t.after(async () => {
    await admin.deleteTopics([`${dlq}.redriven`]).catch(() => undefined);
    await admin.disconnect();
  });

  const now = Date.now();
  const tooLarge = rawHit({ params: 'deviceid=dev-big&blob=xyz' });
  const legacy = rawHit({ params: 'deviceid=dev-legacy' });
  const kitEvent = sampleEvent({ type: 'explodes' });
  const legacyKitEvent = sampleEvent({ type: 'old_explodes' });
  const kitSource = (event: ReturnType<typeof sampleEvent>, offset: string): IncomingMessage => ({
    topic: events,
    partition: 1,
    offset,
    timestamp: now,
    key: Buffer.from('device-7'),
    value: Buffer.from(encodeMessage(event)),
    headers: {},
  });
  // Partition 0: what kafkastore wrote; partition 1: what consumers wrote.
  const letters: [string, number, OutgoingMessage][] = [
    [
      'tooLarge',
      0,
      deadLetterMessage({
        entry: encodeRawHit(tooLarge),
        stage: 'size',
        error: "the event's message is 2000 bytes, above EVENT_MAX_MESSAGE_BYTES=1024",
        originalTopic: events,
        id: tooLarge.id,
        redact: false,
        now,
      }),
    ],
    [
      'garbage',
      0,
      deadLetterMessage({
        entry: 'not json <script>alert(1)</script>\u001b[2J',
        stage: 'decode',
        error: 'raw hit: not JSON: "not json"',
        originalTopic: events,
        redact: false,
        now,
      }),
    ],
    [
      'legacyStore',
      0,
      {
        key: null,
        value: encodeRawHit(legacy),
        headers: { error: 'Kafka refused the event (CORRUPT_MESSAGE): x', original_topic: events, id: legacy.id },
      },
    ],
    [
      'old',
      0,
      {
        ...deadLetterMessage({
          entry: encodeRawHit(rawHit()),
          stage: 'encode',
          error: 'cannot encode the event: three days ago',
          originalTopic: events,
          redact: false,
          now: now - 3 * DAY,
        }),
        timestamp: now - 3 * DAY,
      },
    ],
    [
      'kit',
      1,
      toDeadLetterMessage(
        { message: kitSource(kitEvent, '17'), reason: 'handler_failed', error: 'cannot handle explodes' },
        'event_counter',
        now,
      ),
    ],
    [
      'legacyKit',
      1,
      {
        key: 'device-8',
        value: encodeMessage(legacyKitEvent),
        headers: {
          error: 'boom',
          reason: 'handler_failed',
          original_topic: events,
          original_partition: '0',
          original_offset: '5',
          consumer: 'stats',
        },
      },
    ],
    [
      'goneTopic',
      1,
      toDeadLetterMessage(
        {
          message: { ...kitSource(sampleEvent(), '3'), topic: `${events}-gone` },
          reason: 'undecodable',
          error: 'meta: missing key "type"',
        },
        'stats',
        now,
      ),
    ],
  ];
  const producer = createProducer(await testKafka(), silentLogger());
  await producer.connect();
  const at: Record<string, string> = {};
  try {
    for (const [name, partition, message] of letters) {
      const [outcome] = await producer.produce([{ topic: dlq, partition, messages: [message] }]);
      assert.equal(outcome?.kind, 'acked');
      if (outcome?.kind === 'acked') at[name] = `${partition}:${outcome.baseOffset}`;
    }
  } finally {
    await producer.disconnect();
  }

  return {
    events,
    dlq,
    env,
    admin,
    clientId,
    at,
    hits: { tooLarge, legacy },
    kitEvent,
    legacyKitEvent,
    async run(...argv) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, {
        env,
        baseDir: repoRoot,
        io: { out: (l) => out.push(l), err: (l) => err.push(l) },
        logger: silentLogger(),
      });
      return { code, out, err };
    },
    async readEvents() {
      const messages: IncomingMessage[] = [];
      const reader = await readTopicByOffsets(await testKafka(), silentLogger(), {
        topic: events,
        until: 'end',
        onBatch: (batch) => void messages.push(...batch),
      });
      await reader.done;
      await reader.stop();
      return messages;
    },
  };
}

const rows = (run: Run): string[] => run.out.filter((l) => /^\d+:\d+ /.test(l));

describe('npm run dlq against a real Kafka', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let f: Fixture;
  before(async () => {
    f = await fixture({ after: (fn) => void cleanups.push(fn) });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it('list prints a table of every letter, old header sets included, and filters by reason, time and source', async () => {
    const all = await f.run('list');
    assert.equal(all.code, 0, all.err.join('\n'));
    assert.match(all.out[0] ?? '', /^PLACE\s+TIME \(UTC\)\s+SOURCE\s+REASON\s+EVENT ID\s+ERROR$/);
    assert.equal(rows(all).length, 7);
    const row = (name: string): string => rows(all).find((l) => l.startsWith(`${f.at[name]} `)) ?? '';
    assert.match(
      row('tooLarge'),
      new RegExp(`kafkastore\\s+too_large\\s+${f.hits.tooLarge.id}\\s+the event's message is 2000 bytes`),
    );
    assert.match(row('garbage'), /kafkastore\s+undecodable\s+-\s+raw hit: not JSON/);
    assert.match(row('legacyStore'), new RegExp(`kafkastore\\s+rejected_by_broker\\s+${f.hits.legacy.id}`));
    assert.match(
      row('kit'),
      new RegExp(`consumer:event_counter\\s+handler_failed\\s+${f.kitEvent.meta.id}\\s+cannot handle`),
    );
    assert.match(row('legacyKit'), /consumer:stats\s+handler_failed\s+-\s+boom/);
    assert.match(all.out.at(-1) ?? '', /^7 matching letters in /);

    const failed = await f.run('list', '--reason', 'handler_failed');
    assert.deepEqual(
      rows(failed).map((l) => l.split(' ')[0]),
      [f.at['kit'], f.at['legacyKit']],
    );
    const recent = await f.run('list', '--since', '1d');
    assert.equal(rows(recent).length, 6, 'the letter of three days ago is left out');
    assert.ok(!rows(recent).some((l) => l.startsWith(`${f.at['old']} `)));
    const since = await f.run('list', '--since', new Date(Date.now() - 4 * DAY).toISOString().slice(0, 10));
    assert.equal(rows(since).length, 7);
    const consumers = await f.run('list', '--source', 'consumer');
    assert.equal(rows(consumers).length, 3);
    const stats = await f.run('list', '--source', 'consumer:stats', '--reason', 'handler_failed');
    assert.deepEqual(
      rows(stats).map((l) => l.split(' ')[0]),
      [f.at['legacyKit']],
    );
    const latest = await f.run('list', '--limit', '2');
    assert.equal(rows(latest).length, 2);
    assert.match(latest.out.at(-1) ?? '', /^2 latest of 7 matching letters/);
  });

  it('show prints the headers and the raw entry as text, control characters escaped', async () => {
    const shown = await f.run('show', f.at['garbage'] as string);
    assert.equal(shown.code, 0, shown.err.join('\n'));
    const text = shown.out.join('\n');
    assert.match(text, /source\s+kafkastore/);
    assert.match(text, /reason\s+undecodable/);
    assert.match(text, /payload\s+raw-entry/);
    assert.match(text, /^ {2}payload: raw-entry$/m, 'every header as it is');
    assert.match(text, /^ {2}original_topic: /m);
    assert.ok(shown.out.includes('not json <script>alert(1)</script>\\u001b[2J'), 'the entry as text, ESC escaped');
    assert.ok(!text.includes('\u001b'), 'no raw escape reaches the terminal');
    const legacy = await f.run('show', f.at['legacyKit'] as string);
    assert.match(legacy.out.join('\n'), /written before the dead-letter contract/);
    assert.match(legacy.out.join('\n'), /meant for\s+\S+ partition 0 offset 5/);
    assert.ok(legacy.out.includes(encodeMessage(f.legacyKitEvent)));
  });

  it('show names what is wrong with the letter asked for', async () => {
    const bare = await f.run('show', '0');
    assert.equal(bare.code, 2);
    assert.match(bare.err.join('\n'), /has 2 partitions: give the letter as <partition:offset>/);
    const missing = await f.run('show', '0:999');
    assert.equal(missing.code, 1);
    assert.match(missing.err.join('\n'), /no letter at 0:999; partition 0 of \S+ holds offsets 0 to 3/);
    const noPartition = await f.run('show', '7:0');
    assert.equal(noPartition.code, 2);
    assert.match(noPartition.err.join('\n'), /has no partition 7/);
  });

  it('redrive: --dry-run sends and records nothing; then each letter goes back once, raw entries as proper messages', async () => {
    // A record of an earlier dead-letter topic of the same name (deleted, created again: offsets
    // start at 0 again) at the place of a letter of this one: that letter was never sent.
    const progress = createProducer(await testKafka(), silentLogger());
    await progress.connect();
    await f.admin.ensureTopics([
      { topic: `${f.dlq}.redriven`, partitions: 1, config: { 'cleanup.policy': 'compact' } },
    ]);
    await progress.send(`${f.dlq}.redriven`, [
      { key: f.at['tooLarge'], value: JSON.stringify({ letter: 1, at: 2, topic: f.events, id: null }) },
      { key: f.at['kit'], value: 'not a progress record' },
    ]);
    await progress.disconnect();
    const progressHigh = async (): Promise<string> =>
      (await f.admin.topicOffsets(`${f.dlq}.redriven`)).map((p) => p.high).join();
    assert.equal(await progressHigh(), '2');

    const dry = await f.run('redrive', '--dry-run');
    assert.equal(dry.code, 1, 'two letters cannot be re-driven');
    assert.equal(dry.out.filter((l) => l.startsWith('would send ')).length, 5);
    assert.match(dry.err.join('\n'), new RegExp(`skipped ${f.at['garbage']}: still not a message \\(decode\\)`));
    assert.match(
      dry.err.join('\n'),
      new RegExp(`skipped ${f.at['goneTopic']}: its topic ${f.events}-gone does not exist`),
      'the producer would not create it: reported instead',
    );
    assert.match(dry.out.at(-1) ?? '', /^dry run: 7 matching, 0 already re-driven .*, 5 would send, 2 skipped$/);
    assert.deepEqual(await f.readEvents(), [], 'a dry run sends nothing');
    assert.equal(await progressHigh(), '2', 'and records nothing');

    const kitOnly = await f.run('redrive', '--reason', 'handler_failed', '--since', '1h');
    assert.equal(kitOnly.code, 0, kitOnly.err.join('\n'));
    assert.match(kitOnly.out.at(-1) ?? '', /^2 matching, 0 already re-driven .*, 2 sent, 0 skipped$/);
    let events = await f.readEvents();
    assert.equal(events.length, 2);
    const kit = events.find((m) => m.value?.toString() === encodeMessage(f.kitEvent));
    assert.equal(kit?.key?.toString(), 'device-7', 'the original key');
    assert.equal(kit?.headers['id'], f.kitEvent.meta.id);
    assert.equal(kit?.headers['redriven_from'], `${f.dlq}/${f.at['kit']}`);
    assert.equal(
      events.find((m) => m.value?.toString() === encodeMessage(f.legacyKitEvent))?.key?.toString(),
      'device-8',
    );

    const rest = await f.run('redrive');
    assert.equal(rest.code, 1);
    assert.match(rest.out.at(-1) ?? '', /^7 matching, 2 already re-driven .*, 3 sent, 2 skipped$/);
    events = await f.readEvents();
    assert.equal(events.length, 5);
    for (const hit of [f.hits.tooLarge, f.hits.legacy]) {
      const message = events.find((m) => m.headers['id'] === hit.id);
      assert.ok(message, `raw entry ${hit.id} re-driven`);
      const decoded = decodeMessage(message.value?.toString() ?? '');
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
      assert.equal(decoded.value.meta.id, hit.id);
      assert.equal(decoded.value.type, 'app_open');
      assert.equal(decoded.value.meta.browser, 'Mobile Safari', 'enriched as kafkastore does');
      assert.equal(message.key?.toString(), new URLSearchParams(hit.params).get('deviceid'), 'KAFKA_PARTITION_KEY');
    }

    const again = await f.run('redrive');
    assert.match(again.out.at(-1) ?? '', /^7 matching, 5 already re-driven .*, 0 sent, 2 skipped$/);
    assert.equal(again.out.filter((l) => l.startsWith('sent ')).length, 0);
    assert.equal((await f.readEvents()).length, 5, 'a second run sends nothing again');
  });

  it('leaves no consumer group behind', async () => {
    const admin = new kafkajs.Kafka({ brokers: (await testInfra()).kafkaBrokers.split(','), logLevel: 0 }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      assert.deepEqual(
        groups.filter((g) => g.groupId.startsWith(f.clientId)).map((g) => g.groupId),
        [],
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkastore and the consumer kit write letters that decode to the same shape', () => {
    const store = deadLetterMessage({
      entry: encodeRawHit(rawHit()),
      stage: 'decode',
      error: 'x',
      originalTopic: 'events',
      redact: true,
      now: 1,
    });
    const kit = toDeadLetterMessage(
      {
        message: {
          topic: 'events',
          partition: 0,
          offset: '1',
          timestamp: 1,
          key: null,
          value: Buffer.from('x'),
          headers: {},
        },
        reason: 'undecodable',
        error: 'x',
      },
      'c',
      1,
    );
    const a = decodeDeadLetter(store.headers ?? {}, 0);
    const b = decodeDeadLetter(kit.headers ?? {}, 0);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(Object.keys(a.value).sort(), Object.keys(b.value).sort());
    assert.deepEqual([a.value.legacy, b.value.legacy], [false, false]);
  });
});

describe('npm run dlq, the command line', () => {
  it('a bad flag gives a clear error and exit code 2, before anything connects', async () => {
    const child = spawn('npm', ['run', '--silent', 'dlq', '--', 'redrive', '--since', 'yesterday'], {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 2);
    assert.match(stderr, /^dlq: --since "yesterday" is not a time; give an ISO date or time/);
  });
});
