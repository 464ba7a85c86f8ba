import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur2 as bigIntMurmur2 } from '@platformatic/kafka';
import fc from 'fast-check';
import { javaKeyPartition, murmur2 } from '../../src/kafka/murmur2.js';

describe('murmur2', () => {
  it("matches Kafka's own test vectors (UtilsTest.testMurmur2)", () => {
    for (const [key, hash] of [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['abc', 479470107],
    ] as const) {
      assert.equal(murmur2(Buffer.from(key)), hash, JSON.stringify(key));
    }
  });

  it("gives @platformatic/kafka's BigInt murmur2 for any bytes (every length modulo 4)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.equal(murmur2(bytes), bigIntMurmur2(Buffer.from(bytes)));
      }),
      { numRuns: 3_000 },
    );
  });

  it('puts a key on the partition of the sign-masked hash, never a negative one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.integer({ min: 1, max: 1_000 }), (bytes, partitions) => {
        const partition = javaKeyPartition(bytes, partitions);
        assert.equal(partition, (bigIntMurmur2(Buffer.from(bytes)) & 0x7fffffff) % partitions);
        assert.ok(partition >= 0 && partition < partitions);
      }),
    );
  });
});
