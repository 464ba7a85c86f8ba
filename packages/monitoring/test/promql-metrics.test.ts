import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteVariables } from '../src/dashboards.js';
import { declaredName, metricNames } from '../src/promql-metrics.js';

describe('metric names read by a PromQL expression (the tokenizer of the queries test)', () => {
  const cases: [string, string[]][] = [
    ['up{job=~"pushtech-.+"} == 0', ['up']],
    ['rate(pushtech_kafkastore_produce_failures_total[5m]) > 0', ['pushtech_kafkastore_produce_failures_total']],
    [
      'histogram_quantile(0.99, sum by (le, instance) (rate(pushtech_kafkastore_klag_ms_bucket{service="kafkastore"}[5m]))) > 1e4',
      ['pushtech_kafkastore_klag_ms_bucket'],
    ],
    [
      'sum without (topic, partition) (pushtech_consumer_lag) > 0 unless rate(pushtech_consumer_events_handled_total[10m]) > 0 unless ignoring (reason) pushtech_consumer_outage > 0',
      ['pushtech_consumer_events_handled_total', 'pushtech_consumer_lag', 'pushtech_consumer_outage'],
    ],
    [
      'pushtech_tracker_queue_length / on (instance) group_left pushtech_tracker_max_queue > 0.8',
      ['pushtech_tracker_max_queue', 'pushtech_tracker_queue_length'],
    ],
    ['sum by (stage) (rate(x_total{a="b by (c)"}[1m])) or on() vector(0)', ['x_total']],
    ['time() - pushtech_kafkastore_drain_started_seconds offset 5m', ['pushtech_kafkastore_drain_started_seconds']],
    ['label_replace(foo, "dst", "$1", "src", "(.*)")', ['foo']],
  ];
  for (const [expr, names] of cases) {
    it(expr, () => assert.deepEqual(metricNames(expr), names));
  }

  it('maps histogram series to the declared name', () => {
    assert.equal(declaredName('pushtech_kafkastore_klag_ms_bucket'), 'pushtech_kafkastore_klag_ms');
    assert.equal(declaredName('pushtech_tracker_events_stored_total'), 'pushtech_tracker_events_stored_total');
  });
});

describe('Grafana variables in a panel query', () => {
  const values = { rateInterval: '10s', interval: '2s', variables: { instance: '.+' } };
  it('replaces the interval macros and dashboard variables in both spellings', () => {
    assert.equal(
      substituteVariables(
        'rate(x{instance=~"$instance"}[$__rate_interval]) + rate(y{i=~"${instance:regex}"}[${__interval}])',
        values,
      ),
      'rate(x{instance=~".+"}[10s]) + rate(y{i=~".+"}[2s])',
    );
  });
  it('leaves an unknown variable for Prometheus to reject', () => {
    assert.equal(substituteVariables('x{pod=~"$pod"}', values), 'x{pod=~"$pod"}');
  });
});
