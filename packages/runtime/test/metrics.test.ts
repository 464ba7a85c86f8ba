import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetricsRegistry, hotCounter } from '../src/metrics.js';

describe('hotCounter', () => {
  it('adds its cells to the counter when read, once, and cells of one label set add up', async () => {
    const registry = createMetricsRegistry('test', { processMetrics: false });
    const hot = hotCounter({ name: 'hot_total', help: 'h', labelNames: ['kind'], registers: [registry] });
    const a = hot.cell({ kind: 'a' });
    const alsoA = hot.cell({ kind: 'a' });
    const b = hot.cell({ kind: 'b' });
    a.n += 3;
    alsoA.n += 2;
    b.n += 1;
    const read = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await hot.counter.get()).values.map((v) => [String(v.labels['kind']), v.value]));
    assert.deepEqual(await read(), { a: 5, b: 1 });
    assert.deepEqual(await read(), { a: 5, b: 1 }, 'a second read adds nothing');
    b.n += 4;
    assert.deepEqual(await read(), { a: 5, b: 5 });
    assert.match(await registry.metrics(), /^hot_total\{kind="b",service="test"\} 5$/m);
  });
});

describe('createMetricsRegistry', () => {
  it('shows every garbage-collection kind from the start, before the process collected any', async () => {
    const text = await createMetricsRegistry('quiet').metrics();
    for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
      assert.match(
        text,
        new RegExp(`^pushtech_nodejs_gc_duration_seconds_count\\{service="quiet",kind="${kind}"\\} \\d+$`, 'm'),
        `the ${kind} series`,
      );
    }
  });
});
