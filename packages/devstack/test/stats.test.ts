import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, percentile } from '../src/index.js';

describe('bench statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, of unsorted values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('takes the nearest-rank percentile of sorted values', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 51);
    assert.equal(percentile(sorted, 99), 100);
    assert.equal(percentile(sorted, 100), 100);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
