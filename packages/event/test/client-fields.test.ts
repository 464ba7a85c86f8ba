import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CLIENT_ID_MAX_AHEAD_MS,
  clientIdProblem,
  clientMetaOfHit,
  createEventIdGenerator,
  decodeMessage,
  derivedEventTime,
  encodeClientMeta,
  encodeMessage,
  parseClientTime,
} from '../src/index.js';
import { sampleEvent } from '../src/testing.js';
import { clientTime } from './arbitraries.js';

const NOW = 1_763_880_000_000;
const idAt = (time: number): string => createEventIdGenerator({ now: () => time })();

describe('client ids (_id)', () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp | undefined]> = [
    ['a ULID minted now', idAt(NOW), undefined],
    ['a ULID from a queue a year old', idAt(NOW - 365 * 86_400_000), undefined],
    ['a ULID from a clock reset to 1970', idAt(0), undefined],
    ['a ULID a day ahead (a clock set to local time)', idAt(NOW + 86_400_000), undefined],
    ['a ULID just inside the bound', idAt(NOW + CLIENT_ID_MAX_AHEAD_MS), undefined],
    ['a ULID past the bound', idAt(NOW + CLIENT_ID_MAX_AHEAD_MS + 1), /_id .* 366 days ahead .* at most 366/],
    ['the largest ULID (the year 10889)', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', /days ahead of the tracker's clock/],
    ['lowercase', idAt(NOW).toLowerCase(), /_id must be a ULID .*uppercase/],
    ['25 characters', idAt(NOW).slice(1), /_id must be a ULID/],
    ['27 characters', `${idAt(NOW)}0`, /_id must be a ULID/],
    ['a letter outside Crockford base32 (U)', `${idAt(NOW).slice(0, 25)}U`, /_id must be a ULID/],
    ['a first digit above 7', `8${idAt(NOW).slice(1)}`, /_id must be a ULID/],
    ['empty', '', /_id must be a ULID .*got ""/],
    ['a UUID', '0b5e2f2c-6b1f-4a44-9a4e-5f8f7c1e9d01', /_id must be a ULID/],
  ];
  for (const [what, id, problem] of cases) {
    it(`${problem ? 'refuses' : 'takes'} ${what}`, () => {
      const answer = clientIdProblem(id, NOW);
      if (problem === undefined) assert.equal(answer, undefined);
      else assert.match(answer ?? '', problem);
    });
  }

  it('names the id in one line, cut to 40 characters, whatever the client sent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const answer = clientIdProblem(text, NOW);
        if (answer !== undefined) assert.match(answer, /^_id [^\n\r\u2028\u2029]*$/);
        assert.ok((answer ?? '').length < 200);
      }),
    );
  });
});

describe('device times (_ct, _st)', () => {
  const table: ReadonlyArray<readonly [string, number | undefined]> = [
    ['0', 0],
    ['1763880000000', 1_763_880_000_000],
    ['000123', 123],
    [String(2 ** 48 - 1), 2 ** 48 - 1],
    [String(2 ** 48), undefined],
    ['9999999999999999', undefined],
    ['', undefined],
    ['-1', undefined],
    ['+1', undefined],
    ['1.5', undefined],
    ['1e12', undefined],
    [' 1', undefined],
    ['0x10', undefined],
    ['abc', undefined],
  ];
  for (const [text, value] of table) {
    it(`${JSON.stringify(text)} is ${value === undefined ? 'refused' : String(value)}`, () => {
      assert.equal(parseClientTime(text), value);
    });
  }

  it('any 48-bit time reads back from its decimal text', () => {
    fc.assert(fc.property(clientTime, (time) => assert.equal(parseClientTime(String(time)), time)));
  });
});

describe('the skew-corrected event time', () => {
  it('is the receive time minus the wait on the device, whatever the skew of its clock', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10 * 86_400_000, max: 2 ** 47 }),
        fc.integer({ min: 0, max: 86_400_000 }),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        (receivedAt, waited, skew) => {
          // A device whose clock is `skew` ms off created the event `waited` ms before sending it.
          const createdAt = Math.max(0, receivedAt - waited + skew);
          const sentAt = createdAt + waited;
          assert.equal(derivedEventTime(receivedAt, createdAt, sentAt), receivedAt - waited);
        },
      ),
    );
  });

  it('takes a sent time before the created time (a clock set back) as no wait, and never goes below 0', () => {
    assert.equal(derivedEventTime(NOW, 5_000, 1_000), NOW);
    assert.equal(derivedEventTime(1_000, 0, 5_000), 0);
    fc.assert(
      fc.property(clientTime, clientTime, clientTime, (ts, ct, st) => {
        const time = derivedEventTime(ts, ct, st);
        assert.ok(time >= 0 && time <= ts);
      }),
    );
  });
});

describe('client fields in the meta', () => {
  it('follow the enrichment keys, and decode into the typed meta', () => {
    const id = idAt(NOW - 60_000);
    const hit = { ts: NOW, idSource: 'client' as const, createdAt: NOW - 70_000, sentAt: NOW - 10_000 };
    const tail = clientMetaOfHit(hit);
    assert.equal(tail, `&id_src=client&ct=${NOW - 70_000}&st=${NOW - 10_000}&ets=${NOW - 60_000}`);
    const event = sampleEvent({ meta: { id, ts: NOW, bot: false } });
    const message = encodeMessage(event);
    const withClient = message.replace(' deviceid=', `${tail} deviceid=`);
    assert.match(withClient, /&bot=0&id_src=client&ct=\d+&st=\d+&ets=\d+ deviceid=/);
    const decoded = decodeMessage(withClient);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.meta, {
      ...event.meta,
      idSource: 'client',
      createdAt: NOW - 70_000,
      sentAt: NOW - 10_000,
      eventTime: NOW - 60_000,
    });
    // The reference encoder writes the same text from the typed meta.
    assert.equal(encodeMessage(decoded.value), withClient);
  });

  it('are absent for a hit without client fields, and ets only comes with both times', () => {
    assert.equal(clientMetaOfHit({ ts: NOW }), '');
    assert.equal(clientMetaOfHit({ ts: NOW, idSource: 'client' }), '&id_src=client');
    assert.equal(clientMetaOfHit({ ts: NOW, createdAt: 1 }), '&ct=1');
    assert.equal(clientMetaOfHit({ ts: NOW, createdAt: 1, sentAt: 3 }), `&ct=1&st=3&ets=${NOW - 2}`);
  });

  it('clientMetaOfHit writes what encodeMeta writes for the same fields', () => {
    const fields = fc.record(
      { idSource: fc.constant('client' as const), createdAt: clientTime, sentAt: clientTime },
      { requiredKeys: [], noNullPrototype: true },
    );
    fc.assert(
      fc.property(fields, fc.maxSafeNat(), (client, ts) => {
        const eventTime =
          client.createdAt !== undefined && client.sentAt !== undefined
            ? derivedEventTime(ts, client.createdAt, client.sentAt)
            : undefined;
        const meta = { ...sampleEvent().meta, ts, bot: true, ...client };
        if (eventTime !== undefined) Object.assign(meta, { eventTime });
        const encoded = encodeMessage({ type: 'x', meta, params: [] });
        assert.ok(encoded.endsWith(`&bot=1${clientMetaOfHit({ ts, ...client })} `), encoded);
      }),
    );
  });

  const refused: ReadonlyArray<readonly [string, string, string]> = [
    ['id_src=device', '&id_src=device', 'meta: id_src is not client or tracker: "device"'],
    ['ct=-1', '&ct=-1', 'meta: ct is not a non-negative integer: "-1"'],
    ['st=1.5', '&st=1.5', 'meta: st is not a non-negative integer: "1.5"'],
    ['ets=', '&ets=', 'meta: ets is not a non-negative integer: ""'],
    ['ct twice', '&ct=1&ct=2', 'meta: duplicate key "ct"'],
  ];
  for (const [what, tail, reason] of refused) {
    it(`a message with ${what} does not decode: ${reason}`, () => {
      const message = encodeMessage(sampleEvent()).replace(' deviceid=', `${tail} deviceid=`);
      assert.deepEqual(decodeMessage(message), { ok: false, error: reason });
    });
  }

  it('encodeClientMeta refuses what no decoder would take back', () => {
    assert.throws(() => encodeClientMeta({ createdAt: -1 }), /ct must be a non-negative integer/);
    assert.throws(() => encodeClientMeta({ eventTime: 1.5 }), /ets must be a non-negative integer/);
    assert.throws(() => encodeClientMeta({ sentAt: Number.NaN }), /st must be a non-negative integer/);
  });
});
