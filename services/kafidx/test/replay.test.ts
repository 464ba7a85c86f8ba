import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { testAdmin } from '@pushtech/devstack/testing';
import { REPLAY_GROUP_PREFIX } from '../src/replay.js';
import { startTestKafidx, type Message, type ProducedEvent } from './helpers.js';

const history = (count: number): ProducedEvent[] =>
  Array.from({ length: count }, (_, i) => ({ type: 'past', timestamp: Date.now() - 60_000 + i }));

const isReplayEnd = (m: Message): boolean =>
  m['t'] === 'replay-done' || (m['t'] === 'error' && String(m['detail']).startsWith('replay'));

describe('replay limits', () => {
  it('one replay at a time per session, whichever socket asks; another session is not held up', async (t) => {
    const k = await startTestKafidx(t, {}, history(20));
    const cookie = await k.cookie();
    const first = await k.connect({ cookie });
    const second = await k.connect({ cookie });
    const otherSession = await k.connect();
    first.send({ t: 'replay', minutes: 5 });
    await first.next((m) => m['t'] === 'replay-start');
    second.send({ t: 'replay', minutes: 5 });
    otherSession.send({ t: 'replay', minutes: 5 });
    const refused = await second.next((m) => m['t'] === 'error');
    assert.match(String(refused['detail']), /replay refused: a replay of this session is already running/);
    assert.equal((await first.next((m) => m['t'] === 'replay-done', 30_000))['count'], 20);
    assert.equal((await otherSession.next(isReplayEnd, 30_000))['t'], 'replay-done');
    // Once it is done, the session may replay again.
    second.send({ t: 'replay', minutes: 5 });
    assert.equal((await second.next((m) => m['t'] === 'replay-done', 30_000))['count'], 20);
  });

  it('at most KAFIDX_REPLAYS_PER_MINUTE per session, with the wait in the message', async (t) => {
    const k = await startTestKafidx(t, { KAFIDX_REPLAYS_PER_MINUTE: '2' }, history(3));
    const cookie = await k.cookie();
    const socket = await k.connect({ cookie });
    const outcomes: Message[] = [];
    for (let i = 0; i < 3; i += 1) {
      const before = socket.messages.length;
      socket.send({ t: 'replay', minutes: 5 });
      outcomes.push(await socket.next((m) => socket.messages.indexOf(m) >= before && isReplayEnd(m), 30_000));
    }
    assert.deepEqual(
      outcomes.map((m) => m['t']),
      ['replay-done', 'replay-done', 'error'],
    );
    assert.match(String(outcomes[2]?.['detail']), /at most 2 replays per minute per session; try again in \d+ s/);
    // A new socket of the same session is the same session.
    const sameSession = await k.connect({ cookie });
    sameSession.send({ t: 'replay', minutes: 5 });
    assert.match(String((await sameSession.next(isReplayEnd, 30_000))['detail']), /at most 2 replays per minute/);
    const otherSession = await k.connect();
    otherSession.send({ t: 'replay', minutes: 5 });
    assert.equal((await otherSession.next(isReplayEnd, 30_000))['count'], 3);
    const metrics = await (await fetch(`${k.opsBase}/metrics`)).text();
    assert.match(metrics, /pushtech_kafidx_replays_refused_total\{service="kafidx"\} 2/);
  });

  it('leaves no consumer group and no committed offsets on the broker', async (t) => {
    const k = await startTestKafidx(t, {}, history(10));
    const admin = await testAdmin(t);
    const socket = await k.connect();
    for (let i = 0; i < 2; i += 1) {
      const before = socket.messages.length;
      socket.send({ t: 'replay', minutes: 5 });
      const done = await socket.next((m) => socket.messages.indexOf(m) >= before && isReplayEnd(m), 30_000);
      assert.equal(done['count'], 10);
    }
    await k.stop();
    const groups = await admin.listGroups();
    assert.deepEqual(
      groups.filter((g) => g.startsWith(`${REPLAY_GROUP_PREFIX}${k.topic}-`)),
      [],
      'the replays deleted their groups',
    );
    // Whatever replay groups other runs left: none of them committed anything on this topic.
    for (const group of groups.filter((g) => g.startsWith(REPLAY_GROUP_PREFIX))) {
      const committed = (await admin.groupOffsets(group, k.topic)).filter((p) => p.offset !== '-1');
      assert.deepEqual(committed, [], `group ${group} holds offsets of ${k.topic}`);
    }
    assert.deepEqual(
      groups.filter((g) => g.startsWith(`kafidx-${hostname()}-${process.pid}-`)),
      [],
      'the live consumer deleted its group',
    );
  });
});
