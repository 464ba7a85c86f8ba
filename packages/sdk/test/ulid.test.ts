import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventIdTime, isEventId } from '@pushtech/event';
import { createUlid } from '../src/ulid.js';

const random = (bytes: Uint8Array): void => void crypto.getRandomValues(bytes);

describe('ulid', () => {
  it('mints ULIDs the pipeline accepts, with the time it was given', () => {
    const mint = createUlid(random);
    const now = Date.now();
    const id = mint(now);
    assert.equal(isEventId(id), true, id);
    assert.equal(eventIdTime(id), now);
  });

  it('is strictly increasing within one millisecond and when the clock goes back', () => {
    const mint = createUlid(random);
    const ids = [mint(1_000), mint(1_000), mint(1_000), mint(999), mint(500), mint(1_001), mint(1_001)];
    for (let i = 1; i < ids.length; i++) assert.ok((ids[i] ?? '') > (ids[i - 1] ?? ''), `${ids[i]} > ${ids[i - 1]}`);
    assert.deepEqual(
      ids.map((id) => eventIdTime(id)),
      [1_000, 1_000, 1_000, 1_000, 1_000, 1_001, 1_001],
    );
  });

  it('carries into the next digit when the random part ends in Z', () => {
    const mint = createUlid((bytes) => bytes.fill(31));
    assert.equal(mint(0), `0000000000${'Z'.repeat(16)}`);
    // All 16 digits at their maximum wrap to zero rather than changing the time.
    assert.equal(mint(0), `0000000000${'0'.repeat(16)}`);
    const carry = createUlid((bytes) => bytes.fill(0).fill(31, 15));
    assert.equal(carry(0).slice(10), `${'0'.repeat(15)}Z`);
    assert.equal(carry(0).slice(10), `${'0'.repeat(14)}10`);
  });

  it('takes fresh randomness for every new millisecond', () => {
    const mint = createUlid(random);
    const ids = new Set(Array.from({ length: 10_000 }, (_, i) => mint(i).slice(10)));
    assert.equal(ids.size, 10_000);
  });
});
