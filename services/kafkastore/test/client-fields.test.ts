// Issue 22: a hit whose id and times came from the device (the tracker's raw hit version 2)
// keeps them through enrichment: the meta gains id_src, ct, st and ets, exactly as encodeMessage
// writes them, and the id is the client's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, derivedEventTime, encodeMessage, encodeRawHit, type RawHit } from '@pushtech/event';
import { createDeviceLookup } from '../src/device.js';
import { createEntryProcessor } from '../src/process-entry.js';
import { rawHit } from './helpers/hits.js';

const processEntry = createEntryProcessor({
  lookupGeo: () => Object.freeze({ country: 'DE', city: 'Berlin' }),
  lookupDevice: createDeviceLookup({ cacheSize: 10 }),
  anonymizeIp: (ip) => ip,
  partitionKey: 'deviceid',
  maxMessageBytes: 1_000_000,
});

function produce(hit: RawHit): string {
  const outcome = processEntry(encodeRawHit(hit), hit.ts + 12);
  assert.equal(outcome.kind, 'ok', JSON.stringify(outcome));
  return outcome.kind === 'ok' ? outcome.value : '';
}

describe('client fields through kafkastore', () => {
  it('writes the client id, the device times and the skew-corrected time into the meta', () => {
    const ts = 1_763_880_000_000;
    // A device 3 days behind, whose event waited 40 s in its queue.
    const hit = rawHit({
      ts,
      idSource: 'client',
      createdAt: ts - 3 * 86_400_000 - 40_000,
      sentAt: ts - 3 * 86_400_000,
    });
    const message = produce(hit);
    const decoded = decodeMessage(message);
    assert.ok(decoded.ok, message);
    const { meta } = decoded.value;
    assert.equal(meta.id, hit.id);
    assert.equal(meta.idSource, 'client');
    assert.equal(meta.createdAt, hit.createdAt);
    assert.equal(meta.sentAt, hit.sentAt);
    assert.equal(meta.eventTime, ts - 40_000);
    assert.equal(meta.eventTime, derivedEventTime(ts, hit.createdAt ?? 0, hit.sentAt ?? 0));
    assert.match(message, /&bot=0&id_src=client&ct=\d+&st=\d+&ets=\d+ deviceid=/);
    // Byte for byte what the reference encoder writes for the decoded event.
    assert.equal(encodeMessage(decoded.value), message);
  });

  it('leaves a hit without client fields as before: no client keys at all', () => {
    const message = produce(rawHit());
    assert.doesNotMatch(message, /id_src=|&ct=|&st=|&ets=/);
    const decoded = decodeMessage(message);
    assert.ok(decoded.ok);
    assert.equal(decoded.value.meta.idSource, undefined);
    assert.equal(decoded.value.meta.eventTime, undefined);
  });

  it('keeps a client id without device times, and device times with a tracker id', () => {
    const idOnly = decodeMessage(produce(rawHit({ idSource: 'client' })));
    assert.ok(idOnly.ok);
    assert.equal(idOnly.value.meta.idSource, 'client');
    assert.equal(idOnly.value.meta.createdAt, undefined);
    const timesOnly = decodeMessage(produce(rawHit({ ts: 10_000, createdAt: 5, sentAt: 1_005 })));
    assert.ok(timesOnly.ok);
    assert.equal(timesOnly.value.meta.idSource, undefined);
    assert.equal(timesOnly.value.meta.eventTime, 9_000);
  });
});
