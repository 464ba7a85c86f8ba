/**
 * What the tracker's process loads: no Kafka client. It never talks to Kafka, and the two
 * clients cost a process about 50 MB of resident memory (an idle tracker: 161 -> 112 MB), which
 * the tracker's RSS goal (< 150 MiB after a run at full speed) cannot spare. The control runs
 * the same probe on kafkastore, which loads kafkajs at start (the probe can see a client);
 * @platformatic/kafka is loaded by a producer's first call, and kafidx's test has its control.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packagesLoaded } from '@pushtech/devstack/testing';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KAFKA_CLIENTS = ['kafkajs', '@platformatic/kafka'];

describe('packages a service process loads', () => {
  it('the tracker loads no Kafka client; kafkastore, the control, loads kafkajs', { timeout: 180_000 }, () => {
    const tracker = packagesLoaded(path.join(repo, 'services', 'tracker', 'src', 'main.ts'));
    assert.ok(
      tracker.has('ioredis') && tracker.has('uWebSockets.js'),
      `the probe sees the tracker's packages: ${[...tracker].join(', ')}`,
    );
    for (const client of KAFKA_CLIENTS) assert.equal(tracker.has(client), false, `the tracker loads ${client}`);

    const kafkastore = packagesLoaded(path.join(repo, 'services', 'kafkastore', 'src', 'main.ts'));
    assert.ok(kafkastore.has('kafkajs'), 'kafkastore loads kafkajs');
  });
});
