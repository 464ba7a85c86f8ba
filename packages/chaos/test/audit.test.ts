import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Acknowledgements, median, recoveryMs, summarize } from '../src/audit.js';
import type { Sighting } from '../src/auditor.js';

const seenMap = (entries: Record<string, [count: number, appendedAt: number]>): Map<string, Sighting> =>
  new Map(Object.entries(entries).map(([rid, [count, firstAppendedAt]]) => [rid, { count, firstAppendedAt }]));

describe('summarize', () => {
  const table: {
    name: string;
    acked: string[];
    seen: Record<string, [number, number]>;
    want: { delivered: number; lost: number; duplicated: number; deliveredUnacknowledged: number };
  }[] = [
    {
      name: 'everything delivered once',
      acked: ['a', 'b', 'c'],
      seen: { a: [1, 1], b: [1, 1], c: [1, 1] },
      want: { delivered: 3, lost: 0, duplicated: 0, deliveredUnacknowledged: 0 },
    },
    {
      name: 'an acknowledged id that never reached Kafka is lost',
      acked: ['a', 'never-sent', 'c'],
      seen: { a: [1, 1], c: [1, 1] },
      want: { delivered: 2, lost: 1, duplicated: 0, deliveredUnacknowledged: 0 },
    },
    {
      name: 'extra copies count as duplicates, not as more deliveries',
      acked: ['a', 'b'],
      seen: { a: [3, 1], b: [1, 1] },
      want: { delivered: 2, lost: 0, duplicated: 2, deliveredUnacknowledged: 0 },
    },
    {
      name: 'stored but unanswered events are counted apart and excuse no loss',
      acked: ['a', 'b'],
      seen: { a: [1, 1], x: [1, 1], y: [2, 1] },
      want: { delivered: 1, lost: 1, duplicated: 0, deliveredUnacknowledged: 2 },
    },
    {
      name: 'nothing acknowledged',
      acked: [],
      seen: { x: [1, 1] },
      want: { delivered: 0, lost: 0, duplicated: 0, deliveredUnacknowledged: 1 },
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const acks = new Acknowledgements();
      acks.add(c.acked, 1000);
      const result = summarize(acks, seenMap(c.seen));
      assert.deepEqual(
        {
          delivered: result.delivered,
          lost: result.lost,
          duplicated: result.duplicated,
          deliveredUnacknowledged: result.deliveredUnacknowledged,
        },
        c.want,
      );
      assert.equal(result.acknowledged, c.acked.length);
    });
  }

  it('samples lost ids in answer order, as many as asked', () => {
    const acks = new Acknowledgements();
    acks.add(['l1', 'ok', 'l2'], 1);
    acks.add(['l3'], 2);
    assert.deepEqual(summarize(acks, seenMap({ ok: [1, 1] })).lostSample, ['l1', 'l2', 'l3']);
    assert.deepEqual(summarize(acks, seenMap({ ok: [1, 1] }), 2).lostSample, ['l1', 'l2']);
  });
});

describe('Acknowledgements', () => {
  it('counts answers in a time window and finds the first one from a moment on', () => {
    const acks = new Acknowledgements();
    acks.add(['a', 'b'], 100);
    acks.add(['c'], 200);
    acks.add(['d'], 300);
    assert.equal(acks.countBetween(100, 200), 2);
    assert.equal(acks.countBetween(150, 301), 2);
    assert.equal(acks.countBetween(0, Number.POSITIVE_INFINITY), 4);
    assert.equal(acks.countBetween(400, 500), 0);
    assert.deepEqual(acks.firstFrom(150), { rid: 'c', at: 200 });
    assert.deepEqual(acks.firstFrom(0), { rid: 'a', at: 100 });
    assert.equal(acks.firstFrom(301), undefined);
  });

  it('keeps times ordered when the clock steps back', () => {
    const acks = new Acknowledgements();
    acks.add(['a'], 500);
    acks.add(['b'], 400);
    // b counts as answered at 500, not before a: the searches need non-decreasing times.
    assert.equal(acks.countBetween(500, 501), 2);
    assert.equal(acks.countBetween(0, 500), 0);
  });
});

describe('recoveryMs', () => {
  const acks = new Acknowledgements();
  acks.add(['before'], 900);
  acks.add(['after'], 1_100);
  acks.add(['later'], 1_200);

  it('runs from the end of the fault to the first later-acknowledged event reaching Kafka', () => {
    assert.equal(recoveryMs(1_000, acks, seenMap({ before: [1, 950], after: [1, 3_500], later: [1, 3_400] })), 2_500);
  });

  it('is null when that event never arrived or nothing was acknowledged afterwards', () => {
    assert.equal(recoveryMs(1_000, acks, seenMap({ later: [1, 1_300] })), null);
    assert.equal(recoveryMs(5_000, acks, seenMap({ after: [1, 1_300] })), null);
  });
});

describe('median', () => {
  it('of odd, even and empty lists', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
  });
});
