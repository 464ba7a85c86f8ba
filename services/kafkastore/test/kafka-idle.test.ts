/**
 * kafkastore's producer, idle, must not spin (the runtime's kafkajs-idle-fix.ts): kafkajs 2.2.4
 * re-checked its empty request queue on a 1 ms timer for as long as a connection was open, about
 * a thousand wake-ups a second per connection. Real Kafka.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testKafka } from '@pushtech/devstack/testing';
import { createProducer, silentLogger } from '@pushtech/runtime';

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { checkPendingRequests(): void };
};

describe('an idle Kafka producer (kafkajs)', () => {
  it('checks its empty request queue only when a request comes or goes, not on a timer', async (t) => {
    const producer = createProducer({ ...(await testKafka()), client: 'kafkajs' }, silentLogger());
    await producer.connect();
    t.after(() => producer.disconnect());
    const check = t.mock.method(prototype, 'checkPendingRequests');
    await sleep(1_000);
    // With the 1 ms loop: several hundred checks in a second, whatever the machine's load.
    assert.ok(check.mock.callCount() < 20, `${check.mock.callCount()} checks of an idle queue in 1 s`);
  });
});
