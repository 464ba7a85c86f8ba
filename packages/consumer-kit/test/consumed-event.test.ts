import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';
import { findUndecodable, KafkaConsumedEvent, SharedDecodes, UndecodableEventError } from '../src/consumed-event.js';
import { sampleEvent } from '@pushtech/event/testing';

function kafkaMessage(text: string | null, offset = '41'): IncomingMessage {
  return {
    topic: 'events',
    partition: 3,
    offset,
    timestamp: 1_700_000_000_123,
    key: null,
    value: text === null ? null : Buffer.from(text, 'utf8'),
    headers: {},
  };
}

describe('KafkaConsumedEvent', () => {
  it('reads every field of a valid message', () => {
    const event = sampleEvent({ type: 'app open', params: [['deviceid', 'a b']] });
    const text = encodeMessage(event);
    const consumed = new KafkaConsumedEvent(kafkaMessage(text));
    assert.equal(consumed.type, 'app open');
    assert.equal(consumed.id, event.meta.id);
    assert.equal(consumed.receivedAt, event.meta.ts);
    assert.equal(consumed.meta.country, 'DE');
    assert.deepEqual(consumed.params, [['deviceid', 'a b']]);
    assert.equal(consumed.producedAt, 1_700_000_000_123);
    assert.equal(consumed.message, text);
    assert.deepEqual(consumed.source, { topic: 'events', partition: 3, offset: '41' });
    assert.equal(consumed.meta, consumed.meta, 'decoded once, then kept');
  });

  it('serialises as its plain fields', () => {
    const event = sampleEvent();
    const consumed = new KafkaConsumedEvent(kafkaMessage(encodeMessage(event)));
    const json = JSON.parse(JSON.stringify(consumed)) as Record<string, unknown>;
    assert.equal(json['id'], event.meta.id);
    assert.equal(json['type'], 'app_open');
    assert.deepEqual(json['source'], { topic: 'events', partition: 3, offset: '41' });
    assert.deepEqual(Object.keys(json).sort(), [
      'id',
      'message',
      'meta',
      'params',
      'producedAt',
      'receivedAt',
      'source',
      'type',
    ]);
  });

  it('decodes only the type when only the type is read', () => {
    // The meta field is broken: the type is still readable, the rest says why not.
    const consumed = new KafkaConsumedEvent(kafkaMessage('app_open type=Mobile deviceid=x'));
    assert.equal(consumed.type, 'app_open');
    assert.throws(
      () => consumed.meta,
      (error: unknown) =>
        error instanceof UndecodableEventError &&
        error.event === consumed &&
        error.code === 'PT_ERR_CONSUMER_UNDECODABLE' &&
        /^meta: missing key "browser"$/.test(error.reason) &&
        error.message === 'events/3@41 is not a valid event: meta: missing key "browser"',
    );
  });

  it('throws an UndecodableEventError naming the reason for every kind of bad message', () => {
    const cases: Array<[string | null, RegExp]> = [
      [null, /^message: expected 3 space-separated fields, got 1$/],
      ['', /^message: expected 3 space-separated fields, got 1$/],
      ['not a message at all', /^message: expected 3 space-separated fields, got 5$/],
      ['%E0%A4%A ' + 'x y', /^message: event type is not valid percent-encoding/],
      ['a  b', /^message: empty meta$/],
    ];
    for (const [text, reason] of cases) {
      const consumed = new KafkaConsumedEvent(kafkaMessage(text));
      assert.throws(
        () => consumed.id,
        (error: unknown) => error instanceof UndecodableEventError && reason.test(error.reason),
        `${JSON.stringify(text)} should fail with ${reason}`,
      );
    }
  });

  it('finds the UndecodableEventError behind errors that wrap it', () => {
    const consumed = new KafkaConsumedEvent(kafkaMessage('garbage'));
    let thrown: unknown;
    try {
      void consumed.receivedAt;
    } catch (error: unknown) {
      thrown = error;
    }
    const wrapped = new Error('handler gave up', { cause: new Error('middle', { cause: thrown }) });
    assert.equal(findUndecodable(wrapped)?.event, consumed);
    assert.equal(findUndecodable(new Error('unrelated')), undefined);
    assert.equal(findUndecodable('a string'), undefined);
  });
});

/** The id in a message's text, read without the decoder. */
function sampleIdOf(text: string): string {
  return /(?:^| |&)id=([0-9A-Z]{26})/.exec(text)?.[1] ?? '';
}

describe('SharedDecodes', () => {
  it('decodes a message once for all the consumers of the process, and forgets it once all read it', () => {
    const shared = new SharedDecodes(3);
    const text = encodeMessage(sampleEvent({ params: [['deviceid', 'd-1']] }));
    // Three consumers' copies of one message, each from its own fetch.
    const [first, second, third] = [1, 2, 3].map(() => new KafkaConsumedEvent(kafkaMessage(text), shared));
    assert.deepEqual(shared.counts, { hits: 0, misses: 0, kept: 0 }, 'nothing is decoded before it is read');
    const meta = first?.meta;
    assert.deepEqual(shared.counts, { hits: 0, misses: 1, kept: 1 });
    assert.equal(second?.meta, meta, 'the second consumer got the decode of the first');
    assert.equal(third?.meta, meta);
    assert.deepEqual(shared.counts, { hits: 2, misses: 1, kept: 0 }, 'read by all three, then forgotten');
    const next = new KafkaConsumedEvent(kafkaMessage(encodeMessage(sampleEvent({ type: 'click' })), '42'), shared);
    assert.equal(next.type, 'click');
    assert.notEqual(next.meta, meta);
    assert.deepEqual(shared.counts, { hits: 2, misses: 2, kept: 1 });
  });

  it('decodes again when the text read at the same place differs (a topic made again)', () => {
    const shared = new SharedDecodes(3);
    const before = new KafkaConsumedEvent(kafkaMessage(encodeMessage(sampleEvent({ type: 'a' }))), shared);
    const after = new KafkaConsumedEvent(kafkaMessage(encodeMessage(sampleEvent({ type: 'b' }))), shared);
    const first = before.meta;
    assert.notEqual(after.meta, first);
    assert.equal(after.meta.id, sampleIdOf(after.message));
    assert.deepEqual(shared.counts, { hits: 0, misses: 2, kept: 1 });
    assert.equal(new KafkaConsumedEvent(kafkaMessage(after.message), shared).meta, after.meta, 'the newer kept');
  });

  it('keeps at most its capacity, the oldest leaving first (a consumer far behind the others)', () => {
    const shared = new SharedDecodes(5, 2);
    const messages = ['a', 'b', 'c'].map((type, i) => kafkaMessage(encodeMessage(sampleEvent({ type })), String(i)));
    const read = (i: number): unknown => new KafkaConsumedEvent(messages[i] as IncomingMessage, shared).meta;
    for (const i of [0, 1, 2, 2, 1]) read(i);
    assert.deepEqual(shared.counts, { hits: 2, misses: 3, kept: 2 });
    read(0);
    assert.deepEqual(shared.counts, { hits: 2, misses: 4, kept: 2 }, 'the first one left when the third came');
  });

  it('keeps no failure: each consumer gets its own UndecodableEventError, naming its own event', () => {
    const shared = new SharedDecodes(2);
    const bad = 'app_open type=Mobile deviceid=x';
    const events = [
      new KafkaConsumedEvent(kafkaMessage(bad), shared),
      new KafkaConsumedEvent(kafkaMessage(bad), shared),
    ];
    for (const consumed of events) {
      assert.throws(
        () => consumed.meta,
        (error: unknown) => error instanceof UndecodableEventError && error.event === consumed,
      );
    }
    assert.deepEqual(shared.counts, { hits: 0, misses: 2, kept: 0 });
  });

  it('refuses a consumer count or capacity that is not a whole number of 1 or more', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new SharedDecodes(bad), /shared decodes: consumers .*, give 1 or more/);
      assert.throws(() => new SharedDecodes(2, bad), /shared decodes: capacity .*, give 1 or more/);
    }
  });

  it('hands every handler a frozen event, shared or not: one cannot change what another reads', () => {
    const event = sampleEvent({ params: [['deviceid', 'd-1']] });
    event.meta.extra = [['future_key', 'v']];
    const text = encodeMessage(event);
    for (const shared of [new SharedDecodes(3), undefined]) {
      const consumed = new KafkaConsumedEvent(kafkaMessage(text), shared);
      const meta = consumed.meta as { country: string };
      assert.throws(() => (meta.country = 'FR'), TypeError);
      assert.throws(() => (consumed.params as [string, string][]).push(['x', 'y']), TypeError);
      assert.throws(() => ((consumed.params[0] as [string, string])[1] = 'changed'), TypeError);
      assert.throws(() => (consumed.meta.extra as [string, string][]).pop(), TypeError);
      assert.equal(new KafkaConsumedEvent(kafkaMessage(text), shared).meta.country, 'DE');
    }
  });
});
