import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';
import { findUndecodable, KafkaConsumedEvent, UndecodableEventError } from '../src/consumed-event.js';
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
