import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { brokerErrorType, whileLeadersSettle } from '../src/kafka/admin.js';

const { KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

/** An error shaped as kafkajs reports a broker's answer (its `type` names the protocol error). */
const brokerError = (type: string): Error => Object.assign(new Error(type), { type, retriable: true });

describe('offsets reads while partition leadership settles', () => {
  it('reads again after NOT_LEADER_FOR_PARTITION and LEADER_NOT_AVAILABLE, then returns the answer', async () => {
    const answers = [brokerError('NOT_LEADER_FOR_PARTITION'), brokerError('LEADER_NOT_AVAILABLE'), 'offsets'];
    let calls = 0;
    const result = await whileLeadersSettle(() => {
      const next = answers[calls];
      calls += 1;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    });
    assert.equal(result, 'offsets');
    assert.equal(calls, 3);
  });

  it('reads the answer kafkajs wrapped when it gave a request up, as its admin does with a metadata error', async () => {
    const answer = new KafkaJSProtocolError(
      Object.assign(new Error('This server does not host this topic-partition'), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
        code: 3,
        retriable: true,
      }),
    );
    // kafkajs's retrier passes the answer as the cause (its type declarations leave that out).
    const given = Object.assign(new KafkaJSNonRetriableError(answer), { cause: answer });
    assert.equal((given as { type?: unknown }).type, undefined, 'the wrapper names no type of its own');
    assert.equal(brokerErrorType(given), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(brokerErrorType(new Error('no broker answer')), undefined);
    assert.equal(brokerErrorType(undefined), undefined);

    // Wrapped or not, an answer it is told to wait out is read again.
    let calls = 0;
    const result = await whileLeadersSettle(
      () => {
        calls += 1;
        return calls < 3 ? Promise.reject(given) : Promise.resolve('listed');
      },
      5000,
      new Set(['UNKNOWN_TOPIC_OR_PARTITION']),
    );
    assert.equal(result, 'listed');
    assert.equal(calls, 3);
  });

  it('gives any other error up at once', async () => {
    let calls = 0;
    await assert.rejects(
      whileLeadersSettle(() => {
        calls += 1;
        return Promise.reject(brokerError('UNKNOWN_TOPIC_OR_PARTITION'));
      }),
      /UNKNOWN_TOPIC_OR_PARTITION/,
    );
    assert.equal(calls, 1);
  });

  it('gives up with the broker error once the time is spent', async () => {
    let calls = 0;
    await assert.rejects(
      whileLeadersSettle(() => {
        calls += 1;
        return Promise.reject(brokerError('NOT_LEADER_FOR_PARTITION'));
      }, 200),
      /NOT_LEADER_FOR_PARTITION/,
    );
    assert.ok(calls >= 2, `read ${calls} times`);
  });
});
