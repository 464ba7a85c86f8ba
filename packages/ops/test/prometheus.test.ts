import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readMetric } from '../src/prometheus.js';

const exposition = `# HELP pushtech_tracker_queue_length Events waiting in the Redis list
# TYPE pushtech_tracker_queue_length gauge
pushtech_tracker_queue_length 1234
# HELP pushtech_tracker_queue_length_max A longer name sharing the prefix
pushtech_tracker_queue_length_max 99
pushtech_kafkastore_cache_lookups_total{cache="ua",result="hit"} 10
pushtech_kafkastore_cache_lookups_total{cache="geo}ip",result="miss"} 5 1763880000000
pushtech_weird{label="a \\"quoted\\" }"} 7
pushtech_nan NaN
pushtech_inf +Inf
pushtech_exp 1.5e3
`;

describe('readMetric', () => {
  const cases: [name: string, expected: number | undefined][] = [
    ['pushtech_tracker_queue_length', 1234],
    ['pushtech_tracker_queue_length_max', 99],
    ['pushtech_kafkastore_cache_lookups_total', 15],
    ['pushtech_weird', 7],
    ['pushtech_nan', undefined],
    ['pushtech_inf', Number.POSITIVE_INFINITY],
    ['pushtech_exp', 1500],
    ['pushtech_absent', undefined],
    ['pushtech_tracker', undefined],
  ];
  for (const [name, expected] of cases) {
    test(`${name} -> ${String(expected)}`, () => {
      assert.equal(readMetric(exposition, name), expected);
    });
  }

  test('reads an empty body and CRLF line ends', () => {
    assert.equal(readMetric('', 'x'), undefined);
    assert.equal(readMetric('x 3\r\ny 4\r\n', 'x'), 3);
  });
});
