import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, percentile, percentiles } from '../src/stats.js';

describe('bench statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, of unsorted values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('takes the nearest-rank percentile of sorted values', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile(sorted, 0), 1);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('summarises unsorted samples without reordering them', () => {
    const samples = [5, 1, 4, 2, 3];
    assert.deepEqual(percentiles(samples), { n: 5, p50: 3, p90: 5, p99: 5, max: 5 });
    assert.deepEqual(samples, [5, 1, 4, 2, 3]);
    assert.equal(percentiles([]).n, 0);
  });
});
