import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config.js';
import { kafkaConnectionFrom, kafkaSettings } from '../../src/kafka/settings.js';
import { defaultKafkaClient } from '../../src/kafka/types.js';

const base = { KAFKA_BROKERS: 'k:9092', KAFKA_TOPIC: 'events' };

describe('KAFKA_CLIENT', () => {
  for (const [value, expected] of [
    [undefined, 'platformatic'],
    ['', 'platformatic'],
    ['kafkajs', 'kafkajs'],
    ['platformatic', 'platformatic'],
  ] as const) {
    it(`${JSON.stringify(value)} selects ${expected} and reaches the connection`, () => {
      const config = parseConfig('svc', kafkaSettings, { ...base, KAFKA_CLIENT: value });
      assert.equal(config.KAFKA_CLIENT, expected);
      assert.equal(kafkaConnectionFrom(config, 'store').client, expected);
    });
  }

  it('defaults to the client a connection without one gets (defaultKafkaClient)', () => {
    assert.equal(parseConfig('svc', kafkaSettings, base).KAFKA_CLIENT, defaultKafkaClient);
  });

  it('refuses an unknown client, naming the accepted ones', () => {
    assert.throws(
      () => parseConfig('svc', kafkaSettings, { ...base, KAFKA_CLIENT: 'rdkafka' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 1 &&
        /^KAFKA_CLIENT="rdkafka": expected one of kafkajs, platformatic$/.test(error.problems[0] ?? ''),
    );
  });

  it('leaves the connection without a client for configs that do not carry the setting', () => {
    const connection = kafkaConnectionFrom({ KAFKA_BROKERS: ['k:9092'], KAFKA_CLIENT_ID: 'pushtech' }, 'kafidx');
    assert.deepEqual(connection, { brokers: ['k:9092'], clientId: 'pushtech-kafidx' });
  });
});
