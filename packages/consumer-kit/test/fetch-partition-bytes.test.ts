import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '@pushtech/event';
import { eventually } from '@pushtech/devstack/testing';
import { defineConsumer } from '../src/index.js';
import { sampleEvent, startConsumerHarness } from '../src/testing/index.js';

const BACKLOG = 6_000;

/**
 * The largest handler call while a consumer reads a backlog of one partition: the first call is
 * held until the whole backlog is in the topic, so every later fetch finds more than it may take.
 */
async function largestCallOverBacklog(
  t: Parameters<typeof startConsumerHarness>[0],
  env: Readonly<Record<string, string>>,
): Promise<{ largest: number; eventBytes: number }> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const sizes: number[] = [];
  const harness = await startConsumerHarness(
    t,
    defineConsumer({
      name: 'sizes',
      async handleBatch(events) {
        sizes.push(events.length);
        if (sizes.length === 1) await held;
      },
    }),
    { partitions: 1, env: { CONSUMER_FETCH_LINGER_MS: '0', ...env } },
  );
  await harness.produce([sampleEvent()]);
  await eventually('the first call', () => (sizes.length > 0 ? true : undefined));
  const events = Array.from({ length: BACKLOG }, () => sampleEvent());
  await harness.produce(events);
  release();
  await eventually('every event handled', () => {
    const handled = sizes.reduce((sum, n) => sum + n, 0);
    return handled >= BACKLOG + 1 ? true : undefined;
  });
  await harness.stop();
  const eventBytes = Buffer.byteLength(encodeMessage(events[0] as (typeof events)[number]));
  return { largest: Math.max(...sizes.slice(1)), eventBytes };
}

describe('CONSUMER_FETCH_MAX_PARTITION_BYTES', () => {
  it('bounds what one handler call holds while a backlog is read; a larger bound lets more in', async (t) => {
    const bounded = await largestCallOverBacklog(t, {});
    // 256 KiB of a partition, plus the record batch that crosses the bound (the harness sends
    // 100 events a batch).
    const bound = Math.ceil((256 * 1024) / bounded.eventBytes) + 100;
    assert.ok(bounded.largest <= bound, `${bounded.largest} events in one call, bound ${bound}`);
    // The control: with 4 MiB a fetch takes far more of the same backlog.
    const wide = await largestCallOverBacklog(t, { CONSUMER_FETCH_MAX_PARTITION_BYTES: String(4 * 1024 * 1024) });
    t.diagnostic(`largest call: ${bounded.largest} events at 256 KiB (bound ${bound}), ${wide.largest} at 4 MiB`);
    assert.ok(
      wide.largest > bound * 2,
      `${wide.largest} events in one call with 4 MiB, ${bounded.largest} with 256 KiB`,
    );
  });

  it('refuses a bound below 1 KiB and names the setting', async (t) => {
    await assert.rejects(
      startConsumerHarness(t, defineConsumer({ name: 'sizes', handleBatch: () => Promise.resolve() }), {
        env: { CONSUMER_FETCH_MAX_PARTITION_BYTES: '512' },
      }),
      /CONSUMER_FETCH_MAX_PARTITION_BYTES/,
    );
  });
});
