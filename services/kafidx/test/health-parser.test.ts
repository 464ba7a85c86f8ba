/**
 * The Prometheus text parser of the health strip, on what a real prom-client registry writes
 * (labels with escapes, histograms, NaN and ±Inf, the process metrics) and on malformed text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, createMetricsRegistry, latencyBucketsMs } from '@pushtech/runtime';
import { addBuckets, bucketIncrease, histogramQuantile, readHealth, stageRates } from '../src/health-readings.js';
import { ExpositionError, parseExposition, type Sample } from '../src/prom-text.js';

/** A label value with every character the format escapes, and ones that look like syntax. */
const awkward = 'we"ird\\name\nline}, x="y" {le="1"} # not a comment';

function find(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('Prometheus text parser', () => {
  it('reads every sample of a real prom-client registry exactly, escapes, NaN and ±Inf included', async () => {
    const registry = createMetricsRegistry('parser-test');
    const handled = new Counter({
      name: 'pushtech_consumer_events_handled_total',
      help: 'Events handled, with "quotes" and a \\ backslash\nin the help',
      labelNames: ['consumer'],
      registers: [registry],
    });
    handled.inc({ consumer: awkward }, 42);
    handled.inc({ consumer: 'plain' }, 0.5);
    const odd = new Gauge({
      name: 'odd_values',
      help: 'NaN and infinities',
      labelNames: ['kind'],
      registers: [registry],
    });
    odd.set({ kind: 'nan' }, Number.NaN);
    odd.set({ kind: 'inf' }, Number.POSITIVE_INFINITY);
    odd.set({ kind: 'minus_inf' }, Number.NEGATIVE_INFINITY);
    odd.set({ kind: 'tiny' }, 1.5e-12);
    const klag = new Histogram({
      name: 'pushtech_kafkastore_klag_ms',
      help: 'klag',
      buckets: latencyBucketsMs,
      registers: [registry],
    });
    for (const v of [0.2, 3, 3, 40, 700, 99_999]) klag.observe(v);

    const text = await registry.metrics();
    const { samples, types } = parseExposition(text);

    // Every sample prom-client holds is there with the same value (its JSON is the witness); the
    // process metrics are read again for the JSON, so only their presence is compared.
    const volatile = (name: string): boolean => /^pushtech_(process|nodejs)_/.test(name);
    let compared = 0;
    for (const metric of await registry.getMetricsAsJSON()) {
      for (const value of metric.values) {
        const name = (value as { metricName?: string }).metricName ?? metric.name;
        const labels = Object.fromEntries(
          Object.entries({ service: 'parser-test', ...value.labels }).map(([k, v]) => [k, String(v)]),
        );
        const sample = find(samples, name, labels);
        assert.ok(sample, `${name} ${JSON.stringify(labels)} parsed`);
        assert.equal(Object.keys(sample.labels).length, Object.keys(labels).length, `${name}: no extra labels`);
        if (volatile(name)) continue;
        if (Number.isNaN(value.value)) assert.ok(Number.isNaN(sample.value));
        else assert.equal(sample.value, value.value, `${name} ${JSON.stringify(labels)}`);
        compared += 1;
      }
    }
    assert.equal(samples.filter((x) => !volatile(x.name)).length, compared, 'no sample more than prom-client has');
    assert.ok(samples.length > compared + 40, `the process metrics are read too (${samples.length} samples)`);
    // prom-client writes NaN as "Nan"; Prometheus reads it case-insensitively, and so must we.
    assert.match(text, /^odd_values\{kind="nan",service="parser-test"\} Nan$/m);

    assert.equal(find(samples, 'pushtech_consumer_events_handled_total', { consumer: awkward })?.value, 42);
    assert.ok(Number.isNaN(find(samples, 'odd_values', { kind: 'nan' })?.value));
    assert.equal(find(samples, 'odd_values', { kind: 'inf' })?.value, Number.POSITIVE_INFINITY);
    assert.equal(find(samples, 'odd_values', { kind: 'minus_inf' })?.value, Number.NEGATIVE_INFINITY);
    assert.equal(find(samples, 'odd_values', { kind: 'tiny' })?.value, 1.5e-12);
    assert.equal(find(samples, 'pushtech_kafkastore_klag_ms_bucket', { le: '+Inf' })?.value, 6);
    assert.equal(find(samples, 'pushtech_kafkastore_klag_ms_bucket', { le: '5' })?.value, 3);
    assert.equal(types.get('pushtech_consumer_events_handled_total'), 'counter');
    assert.equal(types.get('pushtech_kafkastore_klag_ms'), 'histogram');
    assert.equal(types.get('odd_values'), 'gauge');

    const reading = readHealth({ samples, types }, 0);
    assert.equal(reading.klagBuckets?.get(Number.POSITIVE_INFINITY), 6);
    assert.equal(reading.klagBuckets?.get(0.5), 1);
    assert.deepEqual(
      [...reading.counters.values()].map((c) => [c.consumer, c.value]).sort(),
      [
        ['plain', 0.5],
        [awkward, 42],
      ].sort(),
    );
  });

  const malformed: [string, string, RegExp][] = [
    ['no value', 'up{service="x"}\n', /line 1: expected a blank and a value after up/],
    ['a value that is no number', 'up 1\ndown one\n', /line 2: the value of down is not a number: "one"/],
    ['an unclosed label value', 'up{a="b} 1\n', /line 1: a label value is not closed/],
    ['an unknown escape', 'up{a="\\t"} 1\n', /line 1: unknown escape \\t/],
    ['an unquoted label value', 'up{a=b} 1\n', /line 1: expected a quoted value for the label a of up/],
    ['a label given twice', 'up{a="1",a="2"} 1\n', /line 1: the label a appears twice in up/],
    ['a series given twice', 'up{a="1"} 1\nup{a="1"} 2\n', /line 2: the series up\{a="1"\} appears twice/],
    ['text after the timestamp', 'up 1 1700000000000 extra\n', /line 1: unexpected text after the value of up/],
    ['a timestamp that is no integer', 'up 1 soon\n', /line 1: the timestamp of up is not an integer/],
    ['an unknown type', '# TYPE up meter\nup 1\n', /line 1: unknown metric type "meter"/],
    ['two TYPE lines', '# TYPE up gauge\n# TYPE up gauge\n', /line 2: a second # TYPE for up/],
    ['a name that starts with a digit', '9lives 1\n', /line 1: expected a metric name/],
    ['an HTML error page', '<html><body>502 Bad Gateway</body></html>\n', /line 1: expected a metric name/],
    ['a missing comma between labels', 'up{a="1" b="2"} 1\n', /line 1: expected , or } after the label a of up/],
  ];
  for (const [what, text, error] of malformed) {
    it(`refuses ${what} with the line and what is wrong`, () => {
      assert.throws(
        () => parseExposition(text),
        (e: unknown) => e instanceof ExpositionError && error.test(e.message),
      );
    });
  }

  it('accepts what the format allows besides prom-client: comments, timestamps, a trailing comma, CRLF', () => {
    const { samples } = parseExposition(
      '# a free comment\r\n# HELP up is it up\r\nup{a="1",} 1 1700000000000\r\n\r\nup{a="2"}\t-Inf\r\n',
    );
    assert.deepEqual(
      samples.map((s) => [s.labels['a'], s.value]),
      [
        ['1', 1],
        ['2', Number.NEGATIVE_INFINITY],
      ],
    );
  });
});

describe('rates and klag p99 from two scrapes', () => {
  const buckets = (pairs: [number, number][]): Map<number, number> => new Map(pairs);

  it('histogramQuantile interpolates inside the bucket the rank falls in, as histogram_quantile does', () => {
    // 98 observations <= 5 ms, 2 in (500, 1000]: rank 99 is half-way into the (500, 1000] bucket.
    const b = buckets([
      [2, 0],
      [5, 98],
      [500, 98],
      [1000, 100],
      [Infinity, 100],
    ]);
    assert.equal(histogramQuantile(0.99, b), 750);
    assert.equal(histogramQuantile(0.5, b), 2 + 3 * (50 / 98));
    // In the first bucket it starts at 0; in +Inf it is the highest finite bound.
    assert.equal(
      histogramQuantile(
        0.5,
        buckets([
          [10, 4],
          [Infinity, 4],
        ]),
      ),
      5,
    );
    assert.equal(
      histogramQuantile(
        0.99,
        buckets([
          [10, 1],
          [Infinity, 100],
        ]),
      ),
      10,
    );
    assert.equal(
      histogramQuantile(
        0.99,
        buckets([
          [10, 0],
          [Infinity, 0],
        ]),
      ),
      undefined,
      'no observation',
    );
    assert.equal(histogramQuantile(0.99, buckets([[10, 5]])), undefined, 'no +Inf bucket');
  });

  it('counts only what a counter or a bucket gained; a counter that went down was reset', () => {
    const at = (ms: number, stored: number, handled: number): ReturnType<typeof readHealth> =>
      readHealth(
        parseExposition(
          `pushtech_tracker_events_stored_total ${stored}\npushtech_consumer_events_handled_total{consumer="a"} ${handled}\n`,
        ),
        ms,
      );
    assert.deepEqual(stageRates(at(0, 100, 10), at(2000, 300, 10)), [
      { stage: 'handled', consumer: 'a', perSecond: 0 },
      { stage: 'stored', consumer: '', perSecond: 100 },
    ]);
    // The tracker restarted: 100 -> 40 means 40 new events, not -60.
    assert.deepEqual(
      stageRates(at(0, 100, 10), at(4000, 40, 30)).map((r) => r.perSecond),
      [5, 10],
    );
    const before = buckets([
      [5, 10],
      [Infinity, 12],
    ]);
    assert.deepEqual(
      [
        ...bucketIncrease(
          before,
          buckets([
            [5, 15],
            [Infinity, 20],
          ]),
        ),
      ],
      [
        [5, 5],
        [Infinity, 8],
      ],
    );
    assert.deepEqual(
      [
        ...bucketIncrease(
          before,
          buckets([
            [5, 1],
            [Infinity, 1],
          ]),
        ),
      ],
      [
        [5, 1],
        [Infinity, 1],
      ],
      'reset',
    );
    assert.deepEqual(
      [...addBuckets([before, before])],
      [
        [5, 20],
        [Infinity, 24],
      ],
    );
  });
});
