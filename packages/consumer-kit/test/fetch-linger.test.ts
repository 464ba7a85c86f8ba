import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { eventually } from '@pushtech/devstack/testing';
import { defineConsumer, type ConsumedEvent } from '../src/index.js';
import { sampleEvent, startConsumerHarness, type ConsumerHarness } from '../src/testing/index.js';

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function fetches(harness: ConsumerHarness): Promise<number> {
  return metricValue((await harness.registries[0]?.metrics()) ?? '', 'pushtech_consumer_fetches_total');
}

function recorder(seen: ConsumedEvent[][], ownLingerMs?: number) {
  return defineConsumer({
    name: 'recorder',
    ...(ownLingerMs === undefined ? {} : { fetchLingerMs: () => ownLingerMs }),
    handleBatch(events) {
      seen.push([...events]);
      return Promise.resolve();
    },
  });
}

/** Batches a consumer with this linger needs for `count` events produced one by one, `gapMs` apart. */
async function batchesFor(
  t: Parameters<typeof startConsumerHarness>[0],
  lingerMs: number,
  count: number,
  gapMs: number,
  ownLingerMs?: number,
): Promise<number> {
  const batches: ConsumedEvent[][] = [];
  const harness = await startConsumerHarness(t, recorder(batches, ownLingerMs), {
    partitions: 1,
    env: { CONSUMER_FETCH_LINGER_MS: String(lingerMs), CONSUMER_FETCH_MIN_BYTES: '1' },
  });
  for (let i = 0; i < count; i += 1) {
    await harness.produce([sampleEvent()]);
    await sleep(gapMs);
  }
  await eventually('every event handled', () => (batches.flat().length >= count ? true : undefined));
  assert.equal(batches.flat().length, count);
  await harness.stop();
  return batches.length;
}

describe('fetch linger', () => {
  it('gathers a trickle of events into few batches, where no linger takes one batch per produce', async (t) => {
    // 30 produces over 1.5 s at least: with a 1 s linger a handful of fetches carry them all.
    const lingering = await batchesFor(t, 1_000, 30, 50);
    const eager = await batchesFor(t, 0, 30, 50);
    assert.ok(lingering <= 8, `${lingering} batches with the linger`);
    // The negative control: the same trickle without a linger is fetched nearly event by event.
    assert.ok(eager > lingering * 2, `${eager} batches without the linger, ${lingering} with it`);
  });

  it("takes a consumer's own linger over CONSUMER_FETCH_LINGER_MS", async (t) => {
    // As the archiver does (ARCHIVE_FETCH_LINGER_MS): its own 1 s against the service's 0.
    const own = await batchesFor(t, 0, 30, 50, 1_000);
    assert.ok(own <= 8, `${own} batches with the consumer's own linger`);
    // The control: its own 0 against the service's 1 s fetches nearly event by event.
    const ownNone = await batchesFor(t, 1_000, 30, 50, 0);
    assert.ok(ownNone > own * 2, `${ownNone} batches with its own linger 0, ${own} with 1 s`);
  });

  it('hands a lone event after an idle spell to the waiting long poll, not to a timer', async (t) => {
    const batches: ConsumedEvent[][] = [];
    const harness = await startConsumerHarness(t, recorder(batches), {
      partitions: 1,
      // Ten-second long polls and a long linger: neither may stand between the event and the handler.
      env: { CONSUMER_FETCH_MAX_WAIT_MS: '10000', CONSUMER_FETCH_LINGER_MS: '5000', CONSUMER_FETCH_MIN_BYTES: '1' },
    });
    for (let round = 1; round <= 2; round += 1) {
      const before = await fetches(harness);
      await harness.produce([sampleEvent()]);
      await eventually(`event ${round} handled`, () => (batches.flat().length >= round ? true : undefined), 30_000);
      // One fetch answered it: the long poll that was waiting when it was produced. A poll that
      // expired first, or a linger, would show as a second fetch.
      assert.equal((await fetches(harness)) - before, 1, `round ${round}`);
      if (round === 1) {
        // The linger after round 1's fetch ends (it holds back only the next fetch), then the
        // consumer long-polls again: round 2 is again a lone event after an idle spell.
        await sleep(5_500);
      }
    }
  });
});
