import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDeadLetter, encodeMessage } from '@pushtech/event';
import { defineConsumer } from '../src/index.js';
import { runConsumer, sampleEvent } from '../src/testing/index.js';

describe("the kit's dead letters follow the dead-letter contract (packages/event)", () => {
  it('a dead letter is the original message, whole, with its key, and headers that say where it came from', async (t) => {
    const started = Date.now();
    const bad = sampleEvent({ type: 'explodes' });
    const consumer = defineConsumer({
      name: 'contract_check',
      handleBatch(events) {
        if (events.some((e) => e.id === bad.meta.id)) return Promise.reject(new Error('cannot handle explodes'));
        return Promise.resolve();
      },
    });
    const good = Array.from({ length: 30 }, () => sampleEvent());
    // The harness keys message i as device-<i % 7>; the poison ones are at offsets 30 and 31.
    const harness = await runConsumer(t, consumer, [...good, 'not a message at all', bad], {
      partitions: 1,
      env: { CONSUMER_MAX_RETRIES: '1' },
    });
    const letters = await harness.deadLetters(2);
    const decoded = letters.map((l) => {
      const d = decodeDeadLetter(l.headers, l.timestamp);
      assert.ok(d.ok, d.ok ? '' : d.error);
      return { letter: l, info: d.value };
    });
    const undecodable = decoded.find((d) => d.info.reason === 'undecodable');
    const failed = decoded.find((d) => d.info.reason === 'handler_failed');
    assert.ok(undecodable && failed);
    for (const { letter, info } of decoded) {
      assert.equal(info.source, 'consumer');
      assert.equal(info.consumer, 'contract_check');
      assert.equal(info.payload, 'message');
      assert.equal(info.originalTopic, harness.topic);
      assert.equal(info.originalPartition, 0);
      assert.equal(info.legacy, false);
      assert.equal(info.whole, true);
      assert.ok(info.time >= started && info.time <= letter.timestamp, 'dead_lettered_at: when it was written');
    }
    assert.equal(undecodable.info.originalOffset, '30');
    assert.equal(undecodable.letter.key?.toString(), 'device-2');
    assert.equal(undecodable.letter.value?.toString(), 'not a message at all');
    assert.equal(undecodable.info.id, undefined, 'no id can be told from bytes that do not decode');
    assert.match(undecodable.info.error, /^message: expected 3 space-separated fields/);
    assert.equal(failed.info.originalOffset, '31');
    assert.equal(failed.letter.key?.toString(), 'device-3');
    assert.equal(failed.letter.value?.toString(), encodeMessage(bad), 'the message whole, as it was on its topic');
    assert.equal(failed.info.id, bad.meta.id, "the event id, read from the message's meta");
    assert.equal(failed.info.error, 'cannot handle explodes');
  });
});
