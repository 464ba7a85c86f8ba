import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@pushtech/runtime';
import { kafkastoreConfig, processingKey } from '../src/config.js';

const base = { REDIS_URL: 'redis://127.0.0.1:6380', KAFKA_BROKERS: '127.0.0.1:19092', KAFKA_TOPIC: 'events' };

describe('kafkastore configuration', () => {
  it('has defaults for everything but the connections and the topic', () => {
    const config = kafkastoreConfig({ ...base, KAFKASTORE_INSTANCE: 'pod-1' }, { baseDir: '/repo' });
    assert.equal(config.KAFKASTORE_BATCH, 500);
    assert.equal(config.KAFKASTORE_DRAIN_ON_EXIT, false);
    assert.equal(config.IP_ANONYMIZE, 'none');
    assert.deepEqual(config.GEOIP_DB, []);
    assert.equal(processingKey(config), 'pushtech:hits:processing:pod-1');
    assert.ok(Object.isFrozen(config));
  });

  it('resolves relative GeoIP paths against the base directory', () => {
    const config = kafkastoreConfig({ ...base, GEOIP_DB: 'dbs/v4.mmdb, /abs/v6.mmdb' }, { baseDir: '/repo' });
    assert.deepEqual(config.GEOIP_DB, [path.resolve('/repo/dbs/v4.mmdb'), '/abs/v6.mmdb']);
  });

  const bad: Array<[string, Record<string, string>]> = [
    ['KAFKASTORE_BATCH', { KAFKASTORE_BATCH: '0' }],
    ['KAFKASTORE_BATCH', { KAFKASTORE_BATCH: 'lots' }],
    ['IP_ANONYMIZE', { IP_ANONYMIZE: 'hash' }],
    ['KAFKASTORE_DRAIN_ON_EXIT', { KAFKASTORE_DRAIN_ON_EXIT: 'maybe' }],
    ['KAFKASTORE_INSTANCE', { KAFKASTORE_INSTANCE: 'has space' }],
    // Renamed: silently ignored, tracker and kafkastore would hold different limits.
    ['EVENT_MAX_MESSAGE_BYTES', { KAFKASTORE_MAX_MESSAGE_BYTES: '500000' }],
    [
      'KAFKASTORE_DRAIN_TIMEOUT_MS',
      { KAFKASTORE_DRAIN_ON_EXIT: 'true', KAFKASTORE_DRAIN_TIMEOUT_MS: '30000', SHUTDOWN_TIMEOUT_MS: '25000' },
    ],
  ];
  for (const [variable, env] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
      assert.throws(
        () => kafkastoreConfig({ ...base, ...env }, { baseDir: '/repo' }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(variable),
      );
    });
  }
});
