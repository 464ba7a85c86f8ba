/** KAFIDX_HEALTH_TARGETS and KAFIDX_HEALTH_INTERVAL_MS: a bad value stops kafidx and says which and why. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@pushtech/runtime';
import { kafidxConfig } from '../src/config.js';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPIC: 'events' };

describe('health strip settings', () => {
  it('reads name=URL pairs; empty means no strip', () => {
    assert.deepEqual(kafidxConfig(base).KAFIDX_HEALTH_TARGETS, []);
    assert.equal(kafidxConfig(base).KAFIDX_HEALTH_INTERVAL_MS, 5000);
    const config = kafidxConfig({
      ...base,
      KAFIDX_HEALTH_TARGETS: ' tracker=http://127.0.0.1:8380/metrics, kafkastore-0=https://ks.example:8381/metrics ',
      KAFIDX_HEALTH_INTERVAL_MS: '1000',
    });
    assert.deepEqual(config.KAFIDX_HEALTH_TARGETS, [
      'tracker=http://127.0.0.1:8380/metrics',
      'kafkastore-0=https://ks.example:8381/metrics',
    ]);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'an entry without a name',
      { KAFIDX_HEALTH_TARGETS: 'http://127.0.0.1:8380/metrics' },
      /KAFIDX_HEALTH_TARGETS.*"http:\/\/127\.0\.0\.1:8380\/metrics" is not valid/,
    ],
    [
      'a URL that is not http',
      { KAFIDX_HEALTH_TARGETS: 'tracker=ftp://h/metrics' },
      /KAFIDX_HEALTH_TARGETS.*name=URL of \/metrics endpoints/,
    ],
    [
      'credentials in the URL',
      { KAFIDX_HEALTH_TARGETS: 'tracker=http://user:pw@h:1/metrics' },
      /KAFIDX_HEALTH_TARGETS.*no credentials/,
    ],
    [
      'a URL that does not parse',
      { KAFIDX_HEALTH_TARGETS: 'tracker=http://[::1/metrics' },
      /KAFIDX_HEALTH_TARGETS: "tracker=http:\/\/\[::1\/metrics" is not name=URL/,
    ],
    [
      'a name given twice',
      { KAFIDX_HEALTH_TARGETS: 'tracker=http://a:1/metrics,tracker=http://b:1/metrics' },
      /KAFIDX_HEALTH_TARGETS: the name "tracker" is given twice/,
    ],
    [
      'an interval below 500 ms',
      { KAFIDX_HEALTH_INTERVAL_MS: '100' },
      /KAFIDX_HEALTH_INTERVAL_MS.*an integer from 500 to 300000/,
    ],
  ];
  for (const [what, env, message] of bad) {
    it(`refuses ${what}, naming the variable`, () => {
      assert.throws(
        () => kafidxConfig({ ...base, ...env }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }
});
