/**
 * What kafidx's process loads: kafkajs (its consumers and admin) but not @platformatic/kafka,
 * the default producer's client, which costs a process about 50 MB of memory and which kafidx,
 * producing nothing, never uses. The runtime imports that client when a producer is prepared
 * (at a producing service's start) or first used.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packagesLoaded } from '@pushtech/devstack/testing';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('packages the kafidx process loads', () => {
  it('kafkajs but not @platformatic/kafka; control: preparing a producer loads it', { timeout: 180_000 }, () => {
    const kafidx = packagesLoaded(path.join(here, '..', 'src', 'main.ts'));
    assert.ok(kafidx.has('kafkajs') && kafidx.has('ws'), `the probe sees kafidx's packages: ${[...kafidx].join(', ')}`);
    assert.equal(kafidx.has('@platformatic/kafka'), false, 'kafidx loads @platformatic/kafka');

    const producing = packagesLoaded(path.join(here, 'fixtures', 'prepared-producer.ts'));
    assert.ok(producing.has('@platformatic/kafka'), 'a prepared producer loaded @platformatic/kafka');
  });
});
