import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchNumber, benchNumbers } from '../src/index.js';

describe('benchNumber', () => {
  it('is the fallback when unset, else the value given', () => {
    assert.equal(benchNumber('BENCH_SECONDS', 20, { env: {} }), 20);
    assert.equal(benchNumber('BENCH_SECONDS', 20, { env: { BENCH_SECONDS: '30' } }), 30);
    assert.equal(benchNumber('BENCH_FLOOR_SECONDS', 10, { min: 0, env: { BENCH_FLOOR_SECONDS: '0' } }), 0);
    assert.equal(
      benchNumber('BENCH_SHARE', 0.5, { min: 0, max: 1, integer: false, env: { BENCH_SHARE: '0.25' } }),
      0.25,
    );
  });

  it('refuses what the bench cannot use, naming the setting, the rule and the value', () => {
    const cases: [string, Parameters<typeof benchNumber>[2], string][] = [
      ['', {}, 'a whole number, 1 or more'],
      [' ', {}, 'a whole number, 1 or more'],
      ['thirty', {}, 'a whole number, 1 or more'],
      ['0', {}, 'a whole number, 1 or more'],
      ['2.5', {}, 'a whole number, 1 or more'],
      ['1e400', {}, 'a whole number, 1 or more'],
      ['-1', { min: 0 }, 'a whole number, 0 or more'],
      ['1.5', { min: 0, max: 1, integer: false }, 'a number, from 0 to 1'],
      ['0', { unit: 'connections' }, 'a whole number of connections, 1 or more'],
    ];
    for (const [raw, rule, must] of cases) {
      assert.throws(
        () => benchNumber('BENCH_X', 5, { ...rule, env: { BENCH_X: raw } }),
        (error: Error) => error.message === `BENCH_X must be ${must} (got "${raw}")`,
        `BENCH_X=${JSON.stringify(raw)}`,
      );
    }
  });
});

describe('benchNumbers', () => {
  it('is the fallback when unset, else each value of the list', () => {
    assert.deepEqual(benchNumbers('BENCH_RATES', [500, 1000], { env: {} }), [500, 1000]);
    assert.deepEqual(benchNumbers('BENCH_RATES', [500], { env: { BENCH_RATES: '1000,3000' } }), [1000, 3000]);
  });

  it('refuses a list with any value the bench cannot use', () => {
    for (const raw of ['', '1000,', '1000,,3000', '1000;3000', '1000,0']) {
      assert.throws(
        () => benchNumbers('BENCH_RATES', [500], { env: { BENCH_RATES: raw } }),
        (error: Error) =>
          error.message === `BENCH_RATES must be a comma-separated list, each a whole number, 1 or more (got "${raw}")`,
        `BENCH_RATES=${JSON.stringify(raw)}`,
      );
    }
  });
});
