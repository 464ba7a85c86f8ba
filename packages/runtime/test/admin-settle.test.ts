import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { whileLeadersSettle } from '../src/kafka/admin.js';

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
