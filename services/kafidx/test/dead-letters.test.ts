import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterHeaders, encodeMessage, encodeRawHit, newEventId } from '@pushtech/event';
import { createAdmin, silentLogger, type OutgoingMessage } from '@pushtech/runtime';
import { freshTopic, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { produceLetters, startTestKafidx, trackingEvent, type Message, type TestSocket } from './helpers.js';

const MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>';

/** A dead letter as kafkastore writes it: the raw entry, the contract's headers. */
function storeLetter(entry: string, time: number, id?: string): OutgoingMessage {
  return {
    key: null,
    value: entry,
    timestamp: time,
    headers: deadLetterHeaders({
      source: 'kafkastore',
      reason: 'undecodable',
      error: `raw hit: not JSON: ${entry.slice(0, 20)}`,
      payload: 'raw-entry',
      originalTopic: 'events',
      time,
      id,
    }),
  };
}

/** Letters the socket was sent so far, by place, as the page merges them. */
function lettersSeen(socket: TestSocket): Map<string, Message> {
  const seen = new Map<string, Message>();
  for (const m of socket.messages) {
    if (m['t'] !== 'dead-letters') continue;
    for (const letter of m['letters'] as Message[]) seen.set(String(letter['place']), letter);
  }
  return seen;
}

/** Subscribes until a snapshot matches: the feed reads the topic's history after kafidx started. */
async function snapshotWhen(socket: TestSocket, ok: (m: Message) => boolean): Promise<Message> {
  for (let attempt = 0; ; attempt += 1) {
    const before = socket.messages.length;
    socket.send({ t: 'dead-letters' });
    const reply = await socket.next(
      (m) => m['t'] === 'dead-letters' && m['live'] === false && socket.messages.indexOf(m) >= before,
    );
    if (ok(reply)) return reply;
    if (attempt > 200) assert.fail(`no matching snapshot; last: ${JSON.stringify(reply).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function dlqTopic(t: Cleanup): Promise<string> {
  return freshTopic(t, { prefix: 'kafidx-dlq', partitions: 2 });
}

describe('the dead-letter view', () => {
  it('a browser gets the latest N letters, whatever their writer, then each new one as it arrives', async (t) => {
    const dlq = await dlqTopic(t);
    const now = Date.now();
    const kitEvent = trackingEvent('explodes');
    const history: OutgoingMessage[] = [
      storeLetter('oldest', now - 5000),
      storeLetter('older', now - 4000),
      {
        key: 'device-1',
        value: encodeMessage(kitEvent),
        timestamp: now - 3000,
        headers: deadLetterHeaders({
          source: 'consumer',
          consumer: 'event_counter',
          reason: 'handler_failed',
          error: 'cannot handle explodes',
          payload: 'message',
          originalTopic: 'events',
          originalPartition: 1,
          originalOffset: '17',
          time: now - 3000,
          id: kitEvent.meta.id,
        }),
      },
      // The consumer kit's header set before the contract.
      {
        key: 'device-2',
        value: 'not a message',
        timestamp: now - 2000,
        headers: {
          error: 'message: expected 3 space-separated fields, got 1',
          reason: 'undecodable',
          original_topic: 'events',
          original_partition: '0',
          original_offset: '5',
          consumer: 'stats',
        },
      },
      // kafkastore's header set before the contract.
      {
        key: null,
        value: MARKUP,
        timestamp: now - 1000,
        headers: { error: 'raw hit: not JSON: "<img"', original_topic: 'events' },
      },
    ];
    await produceLetters(dlq, history);
    const k = await startTestKafidx(t, { KAFKA_DLQ_TOPIC: dlq, KAFIDX_DEAD_LETTERS: '3' });
    const socket = await k.connect();

    const snapshot = await snapshotWhen(socket, (m) => (m['letters'] as Message[]).length === 3);
    assert.equal(snapshot['topic'], dlq);
    assert.equal(snapshot['status'], 'reading');
    assert.equal(snapshot['keep'], 3);
    const letters = snapshot['letters'] as Message[];
    assert.deepEqual(
      letters.map((l) => l['time']),
      [now - 3000, now - 2000, now - 1000],
      'the latest 3, oldest first',
    );
    const [kit, legacyKit, legacyStore] = letters as [Message, Message, Message];
    assert.equal(kit['source'], 'consumer:event_counter');
    assert.equal(kit['reason'], 'handler_failed');
    assert.equal(kit['id'], kitEvent.meta.id);
    assert.equal(kit['meant'], 'events 1:17');
    assert.equal(kit['value'], encodeMessage(kitEvent));
    assert.equal(kit['key'], 'device-1');
    assert.equal(legacyKit['source'], 'consumer:stats');
    assert.equal(legacyKit['legacy'], true);
    assert.equal(legacyStore['source'], 'kafkastore');
    assert.equal(legacyStore['payload'], 'raw-entry');
    assert.equal(legacyStore['value'], MARKUP, 'the raw entry as it is: the page renders it as text');
    assert.deepEqual((legacyStore['headers'] as Message)['original_topic'], 'events');

    // A new letter reaches the subscribed browser without asking again.
    const id = newEventId();
    const entry = encodeRawHit({
      id,
      ts: now,
      ip: '999.1.1.1',
      host: 'h',
      pod: 'p',
      type: 'app_open',
      params: '',
      ua: MARKUP,
    });
    await produceLetters(dlq, [storeLetter(entry, Date.now(), id)]);
    const live = await socket.next(
      (m) => m['t'] === 'dead-letters' && m['live'] === true && (m['letters'] as Message[]).some((l) => l['id'] === id),
    );
    const fresh = (live['letters'] as Message[]).find((l) => l['id'] === id);
    assert.equal(fresh?.['value'], entry);
    assert.equal(fresh?.['reason'], 'undecodable');
    assert.ok(lettersSeen(socket).has(String(fresh?.['place'])));
  });

  it('a dead-letter topic that does not exist is reported to the page, and not created', async (t) => {
    const missing = uniqueName('kafidx-no-dlq');
    const k = await startTestKafidx(t, { KAFKA_DLQ_TOPIC: missing });
    const socket = await k.connect();
    const snapshot = await snapshotWhen(socket, (m) => String(m['status']).includes('does not exist'));
    assert.match(String(snapshot['status']), new RegExp(`cannot read ${missing}: topic ${missing} does not exist`));
    assert.deepEqual(snapshot['letters'], []);
    const admin = createAdmin(await testKafka(), silentLogger());
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(missing), 'reading never creates the topic');
    } finally {
      await admin.disconnect();
    }
  });
});
