/**
 * The group -> offsets partition rule the coordinator kill uses to name the node it kills. The
 * expected partitions were computed with Kafka's own rule in Java (`Utils.abs(s.hashCode()) % n`
 * in jshell), so a wrong rule here kills a node that does not coordinate the group.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offsetsPartitionOf } from '../src/coordinator-kill.js';

describe('offsetsPartitionOf', () => {
  it('a group whose hash is positive', () => {
    assert.equal(offsetsPartitionOf('chaos-coordinator-group-1a2b3c4d', 10), 4); // hash 335316024
    assert.equal(offsetsPartitionOf('chaos-coordinator-group-0badf00d', 50), 15); // hash 828896715
  });

  it('a group whose hash is negative: Math.abs, not the sign bit masked off', () => {
    // The masked rule names 6, 8 and 8 here: other partitions, often led by other nodes.
    assert.equal(offsetsPartitionOf('my-group', 10), 2); // hash -1906497762
    assert.equal(offsetsPartitionOf('my-group', 50), 12);
    assert.equal(offsetsPartitionOf('chaos-coordinator-group-deadbeef', 10), 0); // hash -371801920
    assert.equal(offsetsPartitionOf('consumers.event_counter', 10), 0); // hash -1224901530
  });

  it('the one hash Math.abs cannot make positive (Integer.MIN_VALUE) is partition 0', () => {
    assert.equal(offsetsPartitionOf('polygenelubricants', 10), 0);
    assert.equal(offsetsPartitionOf('polygenelubricants', 7), 0);
  });
});
