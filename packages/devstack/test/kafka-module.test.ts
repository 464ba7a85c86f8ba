/**
 * The runtime's Kafka module (the only code that knows the Kafka client) against the real
 * broker of the test run. These tests live here, beside the harness that starts the broker,
 * because the harness itself uses the module (a test in runtime would make a package cycle).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createAdmin,
  createConsumer,
  createProducer,
  silentLogger,
  type IncomingBatch,
  type IncomingMessage,
  type OutgoingMessage,
} from '@pushtech/runtime';
import { eventually, freshTopic, testAdmin, testKafka, uniqueName } from '../src/testing.js';

const logger = silentLogger();

function messages(n: number, prefix: string): OutgoingMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `device-${i % 7}`,
    value: `${prefix} ${i}`,
    headers: { id: `${prefix}-${i}` },
  }));
}

describe('Kafka module against a real broker', () => {
  it('produces a batch with acks=all and reports where each partition batch landed', async (t) => {
    const topic = await freshTopic(t, { partitions: 3 });
    const producer = createProducer(await testKafka(), logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    assert.equal(producer.connected, true);

    const receipts = await producer.send(topic, messages(30, 'a'));
    assert.ok(receipts.length >= 1 && receipts.length <= 3);
    for (const r of receipts) {
      assert.equal(r.topic, topic);
      assert.equal(r.baseOffset, '0');
    }
    const admin = await testAdmin(t);
    const total = (await admin.topicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    assert.equal(total, 30);
  });

  it('sends batches for several topics in one call', async (t) => {
    const [events, dlq] = [await freshTopic(t, { partitions: 1 }), await freshTopic(t, { partitions: 1 })];
    const producer = createProducer(await testKafka(), logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.sendMany([
      { topic: events, messages: messages(3, 'e') },
      { topic: dlq, messages: messages(1, 'd') },
      { topic: dlq, messages: [] },
    ]);
    const admin = await testAdmin(t);
    assert.equal((await admin.topicOffsets(events))[0]?.high, '3');
    assert.equal((await admin.topicOffsets(dlq))[0]?.high, '1');
  });

  it('consumes every message exactly once in a group and commits only after the handler resolved', async (t) => {
    const topic = await freshTopic(t, { partitions: 3 });
    const connection = await testKafka();
    const producer = createProducer(connection, logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    const sent = messages(50, 'c');
    await producer.send(topic, sent.slice(0, 20));

    const groupId = uniqueName('group');
    const consumer = createConsumer(connection, logger, { groupId, topics: [topic], fromBeginning: true });
    t.after(() => consumer.stop());
    const received: IncomingMessage[] = [];
    const crashes: Error[] = [];
    let batches = 0;
    consumer.onCrash((e) => crashes.push(e));
    await consumer.start((batch) => {
      batches += 1;
      received.push(...batch.messages);
      return Promise.resolve();
    });
    const assignment = await consumer.waitForAssignment(15_000);
    assert.deepEqual(assignment, [{ topic, partitions: [0, 1, 2] }]);
    // Later sends arrive as further batches: the position must move past each handled batch.
    for (const start of [20, 30, 40]) {
      await eventually(`the first ${start} messages`, () => (received.length >= start ? true : undefined), 20_000);
      await producer.send(topic, sent.slice(start, start + 10));
    }

    await eventually('50 messages', () => (received.length >= 50 ? true : undefined), 20_000);
    const admin = await testAdmin(t);
    const high = (await admin.topicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
    await eventually('committed offsets at the high watermarks', async () => {
      const committed = await admin.groupOffsets(groupId, topic);
      return JSON.stringify(committed) === JSON.stringify(high) ? true : undefined;
    });
    assert.ok(batches >= 4, `several batches were handled (${batches})`);
    assert.deepEqual(
      received.map((m) => m.value?.toString()).sort(),
      sent.map((m) => String(m.value)).sort(),
      'every message once, no duplicates',
    );
    const first = received.find((m) => m.value?.toString() === 'c 0');
    assert.equal(first?.headers['id'], 'c-0');
    assert.equal(first?.key?.toString(), 'device-0');
    assert.ok(Math.abs((first?.timestamp ?? 0) - Date.now()) < 60_000, 'timestamp is the create time in ms');
    assert.deepEqual(crashes, []);
  });

  it('gathers the partitions of a fetch into one call, one call at a time, committing after it', async (t) => {
    const topic = await freshTopic(t, { partitions: 3 });
    const connection = await testKafka();
    const producer = createProducer(connection, logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    // Keys device-0..6 land on every one of the 3 partitions.
    await producer.send(topic, messages(30, 'g'));
    const admin = await testAdmin(t);
    const positions = async (group: string): Promise<string[]> =>
      (await admin.groupOffsets(group, topic)).map((p) => p.offset);

    /** Partitions per handler call, through start() or startGathered(), until 30 messages came. */
    const calls = async (gathered: boolean): Promise<{ calls: number[][]; group: string; maxInFlight: number }> => {
      const group = uniqueName(gathered ? 'gathered' : 'per-partition');
      const consumer = createConsumer(connection, logger, {
        groupId: group,
        topics: [topic],
        fromBeginning: true,
        concurrency: 3,
      });
      t.after(() => consumer.stop());
      const seen: number[][] = [];
      let received = 0;
      let inFlight = 0;
      let maxInFlight = 0;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const handle = async (batches: readonly IncomingBatch[]): Promise<void> => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        seen.push(batches.map((b) => b.partition).sort());
        // The first calls wait until every first-fetch batch has reached a call.
        await held;
        received += batches.reduce((n, b) => n + b.messages.length, 0);
        inFlight -= 1;
      };
      if (gathered) await consumer.startGathered(handle, 1);
      else await consumer.start((batch) => handle([batch]));
      await eventually('calls with all 3 partitions', () => (seen.flat().length >= 3 ? true : undefined), 20_000);
      if (gathered) {
        // Held: nothing is committed before the call resolved.
        assert.deepEqual(await positions(group), ['-1', '-1', '-1']);
      }
      release();
      await eventually('30 messages', () => (received >= 30 ? true : undefined), 20_000);
      await consumer.stop();
      return { calls: seen, group, maxInFlight };
    };

    const gathered = await calls(true);
    assert.deepEqual(gathered.calls, [[0, 1, 2]], 'one call for the three partitions of the fetch');
    assert.equal(gathered.maxInFlight, 1);
    // Committed at each partition's end once the call resolved (the stop commits at the latest).
    assert.deepEqual(
      await positions(gathered.group),
      (await admin.topicOffsets(topic)).map((p) => p.high),
    );
    // Control: batch by batch, the same fetch makes a call per partition, three at once.
    const perPartition = await calls(false);
    assert.deepEqual(perPartition.calls.sort(), [[0], [1], [2]]);
    assert.equal(perPartition.maxInFlight, 3);
  });

  it('a consumer started before its topic exists starts once the topic is created, and reads it', async (t) => {
    // The node a consumer asks can know a topic a moment after another node created it; on one
    // broker a topic created after the start shows the same answer (UNKNOWN_TOPIC_OR_PARTITION).
    const topic = uniqueName('late');
    const connection = await testKafka();
    const admin = createAdmin(connection, logger);
    await admin.connect();
    t.after(async () => {
      await admin.deleteTopics([topic]);
      await admin.disconnect();
    });
    const consumer = createConsumer(connection, logger, {
      groupId: uniqueName('group'),
      topics: [topic],
      fromBeginning: true,
    });
    t.after(() => consumer.stop());
    const received: string[] = [];
    const started = consumer.start((batch) => {
      for (const m of batch.messages) received.push(m.value?.toString() ?? '');
      return Promise.resolve();
    });
    let settled = false;
    const done = (): void => void (settled = true);
    started.then(done, done);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(settled, false, 'the start waits for the topic (it neither failed nor went on without it)');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    await started;
    const producer = createProducer(connection, logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send(topic, messages(5, 'late'));
    await eventually('5 messages', () => (received.length >= 5 ? true : undefined), 20_000);
    assert.deepEqual(received.sort(), ['late 0', 'late 1', 'late 2', 'late 3', 'late 4']);
  });

  it('a consumer whose topic never appears fails its start with PT_ERR_KAFKA_ADMIN naming the topic', async (t) => {
    const topic = uniqueName('never');
    const consumer = createConsumer(await testKafka(), logger, {
      groupId: uniqueName('group'),
      topics: [topic],
      fromBeginning: false,
    });
    t.after(() => consumer.stop());
    await assert.rejects(
      consumer.start(() => Promise.resolve()),
      (error: unknown) => {
        assert.equal((error as { code?: unknown }).code, 'PT_ERR_KAFKA_ADMIN');
        assert.match(
          (error as Error).message,
          new RegExp(
            `^cannot subscribe to ${topic}: the brokers did not know a topic for 10 s \\(.*\\); create it first$`,
          ),
        );
        return true;
      },
    );
    assert.equal(consumer.running, false);
  });

  it('a stop while the start waits for its topic ends the start at once', async () => {
    const consumer = createConsumer(await testKafka(), logger, {
      groupId: uniqueName('group'),
      topics: [uniqueName('never')],
      fromBeginning: false,
    });
    const started = consumer.start(() => Promise.resolve());
    void started.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await consumer.stop();
    await assert.rejects(started, { message: 'the consumer was stopped before it subscribed' });
    assert.equal(consumer.running, false);
  });

  it('a handler that fails commits nothing and ends the consumer through onCrash', async (t) => {
    const topic = await freshTopic(t, { partitions: 1 });
    const connection = await testKafka();
    const producer = createProducer(connection, logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send(topic, messages(5, 'f'));

    const groupId = uniqueName('group');
    const consumer = createConsumer(connection, logger, { groupId, topics: [topic], fromBeginning: true });
    t.after(() => consumer.stop());
    const crashed = new Promise<Error>((resolve) => consumer.onCrash(resolve));
    let calls = 0;
    await consumer.start(() => {
      calls += 1;
      return Promise.reject(new Error('database unavailable'));
    });
    const error = await crashed;
    assert.match(error.message, /database unavailable/);
    assert.ok(calls >= 1);
    assert.equal(consumer.running, false);
    const committed = await (await testAdmin(t)).groupOffsets(groupId, topic);
    assert.deepEqual(committed, [{ partition: 0, offset: '-1' }], 'nothing committed for the failed batch');
  });

  it('a group starting at the latest offsets sees every message produced once it is positioned', async (t) => {
    // kafkajs resolves "latest" on the first fetch, not when the group is joined: a message
    // produced in between would be skipped. Each round is a new group on a new topic, and the
    // message goes out the moment waitForPosition resolves.
    const producer = createProducer(await testKafka(), logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    for (let round = 0; round < 5; round += 1) {
      const topic = await freshTopic(t, { partitions: 2 });
      const consumer = createConsumer(await testKafka(), logger, {
        groupId: uniqueName('latest'),
        topics: [topic],
        fromBeginning: false,
        maxWaitMs: 100,
      });
      t.after(() => consumer.stop());
      const received: string[] = [];
      await consumer.start((batch) => {
        for (const m of batch.messages) received.push(m.value?.toString() ?? '');
        return Promise.resolve();
      });
      const assignment = await consumer.waitForPosition(15_000);
      assert.deepEqual(assignment, [{ topic, partitions: [0, 1] }]);
      await producer.send(topic, messages(4, `r${round}`));
      await eventually(`round ${round}: 4 messages`, () => (received.length >= 4 ? true : undefined), 5_000);
      assert.deepEqual(
        received.sort(),
        Array.from({ length: 4 }, (_, i) => `r${round} ${i}`),
      );
      await consumer.stop();
    }
  });

  it('finds offsets by timestamp, for replaying the last minutes', async (t) => {
    const topic = await freshTopic(t, { partitions: 1 });
    const producer = createProducer(await testKafka(), logger);
    await producer.connect();
    t.after(() => producer.disconnect());
    const base = Date.now() - 10 * 60_000;
    await producer.send(
      topic,
      [0, 1, 2, 3].map((i) => ({ value: `m${i}`, timestamp: base + i * 60_000 })),
    );
    const admin = await testAdmin(t);
    assert.deepEqual(await admin.offsetsForTimestamp(topic, base + 2 * 60_000), [{ partition: 0, offset: '2' }]);
    assert.deepEqual(await admin.offsetsForTimestamp(topic, base - 1), [{ partition: 0, offset: '0' }]);
  });

  it('describes the cluster and fails clearly when no broker answers', async (t) => {
    const admin = await testAdmin(t);
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.ok(cluster.clusterId.length > 0);

    const nowhere = createAdmin(
      { brokers: ['127.0.0.1:1'], clientId: 'nowhere', connectionTimeoutMs: 200, retries: 0 },
      logger,
    );
    t.after(() => nowhere.disconnect());
    await assert.rejects(nowhere.connect(), { code: 'PT_ERR_KAFKA_CONNECT', message: /^cannot connect to Kafka: / });
  });
});
