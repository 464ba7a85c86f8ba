/**
 * "producing entries found in the processing list" means a crash (or a lost Redis reply) left a
 * batch behind. It fired on every normal start: the wait for entries (BLMOVE) moves the first
 * hit into the processing list itself, and the next take counted that hit as a leftover.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eventually, testKafka } from '@pushtech/devstack/testing';
import { serviceSetup } from './helpers/env.js';
import { encodeHits, rawHit } from './helpers/hits.js';
import { startService, type ServiceProcess } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

const REPLAY_MESSAGE = 'producing entries found in the processing list (left by a crash or a lost Redis reply)';

const replays = (service: ServiceProcess): Array<Record<string, unknown>> =>
  service.logs.filter((l) => l['msg'] === REPLAY_MESSAGE);

it('says it replays leftovers only after a crash, not on a start after a clean stop', async (t) => {
  const setup = await serviceSetup(t, { KAFKASTORE_BATCH: '50', KAFKASTORE_LEASE_TTL_MS: '1000' });
  const reader = await readTopic(t, await testKafka(), setup.topic);
  const ids: string[] = [];
  const push = async (count: number): Promise<void> => {
    const hits = Array.from({ length: count }, () => rawHit());
    await setup.redis.lpush(setup.queueKey, ...encodeHits(hits));
    ids.push(...hits.map((h) => h.id));
  };

  // Two clean runs: hits arrive while each one idles (the BLMOVE path), then SIGTERM.
  for (let run = 0; run < 2; run++) {
    const service = startService(t, setup.env);
    await service.ready();
    for (let round = 0; round < 3; round++) {
      await push(20);
      await reader.waitForIds(ids, 30_000);
    }
    service.kill('SIGTERM');
    assert.equal((await service.exited).code, 0);
    assert.equal(await setup.redis.llen(setup.processingKey), 0, 'a clean stop leaves the processing list empty');
    assert.deepEqual(replays(service), [], `run ${run + 1} replayed nothing`);
  }

  // A SIGKILL while a stream is being drained leaves a batch in the processing list.
  let left = 0;
  for (let attempt = 0; attempt < 10 && left === 0; attempt++) {
    const service = startService(t, setup.env);
    await service.ready();
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await push(100);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await eventually('a batch in flight', async () =>
      (await setup.redis.llen(setup.processingKey)) > 0 ? true : undefined,
    );
    service.kill('SIGKILL');
    await service.exited;
    streaming = false;
    await stream;
    left = await setup.redis.llen(setup.processingKey);
  }
  assert.ok(left > 0, 'ten SIGKILLs during a stream never left a batch in flight');

  const restarted = startService(t, setup.env);
  await restarted.ready();
  await reader.waitForIds(ids, 60_000);
  assert.deepEqual(
    replays(restarted).map((l) => l['entries']),
    [left],
    'the start after the crash replays exactly what the crash left',
  );
});
