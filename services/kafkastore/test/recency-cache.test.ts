import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RecencyCache } from '../src/recency-cache.js';

describe('recency cache', () => {
  it('refuses a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new RecencyCache(size), /cache size must be a positive integer/);
    }
  });

  it('keeps a value until max / 2 other keys were inserted after its last use', () => {
    const cache = new RecencyCache<string, number>(10);
    cache.set('kept', 1);
    cache.set('dropped', 2);
    for (let i = 0; i < 4; i++) cache.set(`a${i}`, i);
    assert.equal(cache.get('kept'), 1); // used again: back among the recent ones
    for (let i = 0; i < 5; i++) cache.set(`b${i}`, i);
    assert.equal(cache.get('kept'), 1);
    assert.equal(cache.get('dropped'), undefined);
    assert.ok(cache.size <= 10);
  });

  it('with size 1 holds the last key', () => {
    const cache = new RecencyCache<string, string>(1);
    cache.set('a', 'A');
    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('a'), 'A');
    cache.set('b', 'B');
    assert.equal(cache.get('b'), 'B');
    assert.equal(cache.get('a'), undefined);
    cache.clear();
    assert.equal(cache.get('b'), undefined);
  });

  it('never exceeds max, never answers a value that was not set for the key, and keeps recent keys', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 })), { maxLength: 400 }),
        (max, operations) => {
          const cache = new RecencyCache<number, string>(max);
          const truth = new Map<number, string>();
          // Insertions (counted generously) since each key's last use, for the recency promise.
          const sinceUse = new Map<number, number>();
          let version = 0;
          for (const [isSet, key] of operations) {
            if (isSet) {
              const value = `${key}:${version++}`;
              cache.set(key, value);
              truth.set(key, value);
              for (const [k, n] of sinceUse) sinceUse.set(k, n + 1);
              sinceUse.set(key, 0);
            } else {
              const got = cache.get(key);
              if (got !== undefined) {
                assert.equal(got, truth.get(key));
                // A hit may move the key into the recent generation, which counts as an insertion.
                for (const [k, n] of sinceUse) sinceUse.set(k, n + 1);
                sinceUse.set(key, 0);
              } else if (truth.has(key)) {
                assert.ok((sinceUse.get(key) ?? 0) >= Math.floor(max / 2) - 1, `key ${key} dropped too early`);
              }
            }
            assert.ok(cache.size <= max, `size ${cache.size} above ${max}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
