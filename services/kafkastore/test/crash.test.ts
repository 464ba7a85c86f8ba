/**
 * At-least-once across crashes: kafkastore is SIGKILLed at random moments while the tracker's
 * stream keeps arriving, restarted each time, and in the end every id is in Kafka.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eventually, testKafka } from '@pushtech/devstack/testing';
import { serviceSetup } from './helpers/env.js';
import { streamHits } from './helpers/hits.js';
import { startService } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

const KILLS = 5;
const BATCH = 200;

it('loses no event when SIGKILLed at random moments during a stream', async (t) => {
  const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH) });
  // The tracker side: 100 hits every few milliseconds until told to stop.
  const stream = streamHits(setup.redis, setup.queueKey, { perPush: 100, everyMs: 5 });
  const { ids } = stream;

  let replays = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const service = startService(t, setup.env);
    await service.ready();
    // A random moment once it has been draining for a while.
    const producedBefore = ids.length;
    await eventually('more hits to arrive', () => (ids.length > producedBefore + 500 ? true : undefined));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    service.kill('SIGKILL');
    const exit = await service.exited;
    assert.equal(exit.signal, 'SIGKILL');
    if (
      service.logs.some(
        (l) => l['msg'] === 'producing entries found in the processing list (left by a crash or a lost Redis reply)',
      )
    )
      replays++;
  }
  await stream.stop();

  // The last run drains everything, including what the last kill left in flight.
  const last = startService(t, setup.env);
  await last.ready();
  const reader = await readTopic(t, await testKafka(), setup.topic);
  try {
    await reader.waitForIds(ids, 60_000);
  } catch (error: unknown) {
    // Lost, or still on the way: what Redis holds tells the two apart.
    const [waiting, processing] = await Promise.all([
      setup.redis.llen(setup.queueKey),
      setup.redis.llen(setup.processingKey),
    ]);
    const left = `${waiting} entries still waiting and ${processing} in the processing list`;
    throw new Error(`${(error as Error).message} (read ${reader.messages.length} messages; ${left})`, {
      cause: error,
    });
  }
  await eventually('the queue to be empty', async () =>
    (await setup.redis.llen(setup.queueKey)) === 0 ? true : undefined,
  );
  assert.equal(await setup.redis.llen(setup.processingKey), 0);
  if (process.env['KAFKASTORE_TEST_VERBOSE']) {
    if (
      last.logs.some(
        (l) => l['msg'] === 'producing entries found in the processing list (left by a crash or a lost Redis reply)',
      )
    )
      replays++;
    console.log(`${ids.length} ids, ${reader.messages.length} messages, ${replays} runs replayed a batch`);
  }
  // Duplicates come only from replays: at most one batch per crash, each with the same id.
  const duplicates = reader.messages.length - ids.length;
  assert.ok(duplicates <= KILLS * BATCH, `${duplicates} duplicates for ${KILLS} kills`);
  assert.equal(reader.countsById().size, ids.length);
});
