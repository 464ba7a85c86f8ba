import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConnections } from '../src/index.js';

describe('loadConnections', () => {
  it('is 256 unless BENCH_CONNECTIONS says otherwise', () => {
    assert.equal(loadConnections({}), 256);
    assert.equal(loadConnections({ BENCH_CONNECTIONS: '64' }), 64);
  });

  it('refuses a setting that is not a whole number of 1 or more, naming it and the value', () => {
    for (const bad of ['', ' ', '0', '-4', '2.5', 'many', '1e400']) {
      assert.throws(
        () => loadConnections({ BENCH_CONNECTIONS: bad }),
        (error: Error) =>
          error.message.startsWith('BENCH_CONNECTIONS must be a whole number') && error.message.includes(`"${bad}"`),
        `BENCH_CONNECTIONS=${JSON.stringify(bad)}`,
      );
    }
  });
});
