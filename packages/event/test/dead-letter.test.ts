import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEAD_LETTER_ERROR_MAX,
  deadLetterHeaders,
  deadLetterPayloads,
  deadLetterReasons,
  decodeDeadLetter,
  type DeadLetterInfo,
} from '../src/index.js';
import { text } from './arbitraries.js';

const ID = '01KAQQ1PG0ZX8M4N7R2T5V9BQH';
const AT = 1_763_880_000_123;

/** What a header value is after Kafka: UTF-8 there and back. */
const throughKafka = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('utf8')]));

const source = fc.oneof(
  fc.constant({ source: 'kafkastore' as const }),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,100}$/).map((consumer) => ({ source: 'consumer' as const, consumer })),
);

const info = fc.record({
  reason: fc.constantFrom(...deadLetterReasons),
  // Well-formed, one line, no URL credentials: the text a writer's error is kept as.
  error: fc.string({ unit: 'grapheme', maxLength: 300 }).filter((e) => !/[\r\n@]/.test(e)),
  payload: fc.constantFrom(...deadLetterPayloads),
  originalTopic: fc.stringMatching(/^[A-Za-z0-9._-]{1,249}$/),
  originalPartition: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
  originalOffset: fc.option(
    fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map((n) => n.toString()),
    { nil: undefined },
  ),
  time: fc.integer({ min: 0, max: 2 ** 47 }),
  id: fc.option(fc.constant(ID), { nil: undefined }),
});

describe('dead-letter contract', () => {
  it('decode(encode(x)) = x for every letter the writers can make', () => {
    fc.assert(
      fc.property(info, source, (fields, from) => {
        const letter: DeadLetterInfo = { ...fields, ...from };
        const decoded = decodeDeadLetter(throughKafka(deadLetterHeaders(letter)), 0);
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
        const { whole, legacy, ...rest } = decoded.value;
        assert.deepEqual(
          Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
          Object.fromEntries(Object.entries(letter).filter(([, v]) => v !== undefined)),
        );
        assert.equal(whole, true);
        assert.equal(legacy, false);
      }),
    );
  });

  it('keeps the error one bounded line, well-formed UTF-8, with URL passwords removed', () => {
    fc.assert(
      fc.property(text(), (error) => {
        const headers = deadLetterHeaders({ ...base, error });
        const sent = headers['error'] as string;
        assert.ok(sent.length <= DEAD_LETTER_ERROR_MAX, `${sent.length} characters`);
        assert.doesNotMatch(sent, /[\r\n]/);
        assert.equal(Buffer.from(sent, 'utf8').toString('utf8'), sent);
      }),
    );
    const long = deadLetterHeaders({ ...base, error: 'x'.repeat(5000) })['error'] as string;
    assert.equal(long.length, DEAD_LETTER_ERROR_MAX);
    assert.match(long, /\(5000 characters in all\)$/);
    const secret = deadLetterHeaders({
      ...base,
      error: 'connect ECONNREFUSED redis://:s3cretPW@redis:6379/0 and amqp://app:hunter2@mq/ then\nmore',
    })['error'] as string;
    assert.doesNotMatch(secret, /s3cretPW|hunter2/);
    assert.equal(secret, 'connect ECONNREFUSED redis://:***@redis:6379/0 and amqp://app:***@mq/ then more');
  });

  const base: DeadLetterInfo = {
    source: 'kafkastore',
    reason: 'undecodable',
    error: 'raw hit: not JSON: "x"',
    payload: 'raw-entry',
    originalTopic: 'events',
    time: AT,
  };

  it('refuses to write what it could not read back', () => {
    const bad: [string, Partial<DeadLetterInfo>, RegExp][] = [
      ['source', { source: 'tracker' as 'kafkastore' }, /unknown source "tracker"/],
      ['consumer name', { source: 'consumer', consumer: 'a b' }, /names it/],
      ['no consumer name', { source: 'consumer' }, /names it/],
      ['a consumer for kafkastore', { consumer: 'x' }, /only a consumer's letter/],
      ['reason', { reason: 'oops' as 'unknown' }, /unknown reason "oops"/],
      ['payload', { payload: 'blob' as 'message' }, /unknown payload/],
      ['time', { time: -1 }, /time must be/],
      ['topic', { originalTopic: '' }, /original topic/],
      ['partition', { originalPartition: -1 }, /original partition/],
      ['offset', { originalOffset: '12a' }, /original offset/],
      ['id', { id: 'not-a-ulid' }, /id must be an event id/],
    ];
    for (const [what, change, message] of bad) {
      assert.throws(() => deadLetterHeaders({ ...base, ...change }), message, what);
    }
  });

  it('reads the headers kafkastore wrote before the contract (a raw entry)', () => {
    const cases: [string, string, string][] = [
      ['raw hit: not JSON: "{"', 'undecodable', 'decode'],
      ['cannot encode the event: bad meta', 'unencodable', 'encode'],
      ["the event's message is 2000000 bytes, above EVENT_MAX_MESSAGE_BYTES=1000000", 'too_large', 'size'],
      ["the event's Kafka record is 2000000 bytes, above events's max.message.bytes=1048588", 'too_large', 'size'],
      ['Kafka refused the event (CORRUPT_MESSAGE): corrupt', 'rejected_by_broker', 'kafka'],
      ['something else entirely', 'unknown', 'other'],
    ];
    for (const [error, reason, stage] of cases) {
      const decoded = decodeDeadLetter({ error, original_topic: 'events', id: ID }, AT);
      assert.deepEqual(
        decoded,
        {
          ok: true,
          value: {
            source: 'kafkastore',
            consumer: undefined,
            reason,
            error,
            payload: 'raw-entry',
            originalTopic: 'events',
            originalPartition: undefined,
            originalOffset: undefined,
            time: AT,
            id: ID,
            whole: true,
            legacy: true,
          },
        },
        stage,
      );
    }
    const cut = decodeDeadLetter({ error: 'too large', original_topic: 'events', truncated: '1' }, AT);
    assert.ok(cut.ok);
    assert.equal(cut.value.whole, false, 'an old truncated letter is flagged: it cannot be re-driven whole');
    assert.equal(cut.value.id, undefined);
  });

  it('reads the headers the consumer kit wrote before the contract (a message)', () => {
    const decoded = decodeDeadLetter(
      {
        error: 'handler: boom',
        reason: 'handler_failed',
        original_topic: 'events',
        original_partition: '3',
        original_offset: '41',
        consumer: 'event-counter',
      },
      AT,
    );
    assert.deepEqual(decoded, {
      ok: true,
      value: {
        source: 'consumer',
        consumer: 'event-counter',
        reason: 'handler_failed',
        error: 'handler: boom',
        payload: 'message',
        originalTopic: 'events',
        originalPartition: 3,
        originalOffset: '41',
        time: AT,
        id: undefined,
        whole: true,
        legacy: true,
      },
    });
  });

  it('says what is wrong with headers it cannot read', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /not a dead letter of this pipeline/],
      [{ error: 'x' }, /not a dead letter/],
      [{ error: 'x', original_topic: 'events', original_partition: 'p1' }, /original_partition is not a partition/],
      [{ error: 'x', original_topic: 'events', original_offset: '-1' }, /original_offset is not an offset/],
      [{ ...deadLetterHeaders(base), payload: 'blob' }, /unknown payload "blob"/],
      [{ ...deadLetterHeaders(base), source: 'tracker' }, /unknown source "tracker"/],
      [{ ...deadLetterHeaders(base), source: 'consumer' }, /without a valid consumer header/],
      [{ ...deadLetterHeaders(base), reason: 'later' }, /unknown reason "later"/],
      [{ ...deadLetterHeaders(base), dead_lettered_at: 'yesterday' }, /dead_lettered_at is not ms/],
    ];
    for (const [headers, message] of cases) {
      const decoded = decodeDeadLetter(headers, AT);
      assert.equal(decoded.ok, false, JSON.stringify(headers));
      if (!decoded.ok) assert.match(decoded.error, message);
    }
  });
});
