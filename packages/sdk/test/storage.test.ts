/**
 * The queue survives a restart: what was not sent is in storage, and the next client sends it
 * with the ids and created times it had. fileStorage is the Node storage; a Map-backed async
 * storage stands for AsyncStorage (the same interface, promises).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventually, type Cleanup } from '@pushtech/devstack/testing';
import { createClient, type DropInfo, type QueueStorage } from '../src/index.js';
import { fileStorage } from '../src/node.js';
import { idsOf, scriptedTracker } from './scripted-tracker.js';

function tempDir(t: Cleanup): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-sdk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** AsyncStorage's shape: every call a promise, resolved on a later turn. */
function asyncStorage(): QueueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  const later = <T>(value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), 1));
  return {
    data,
    getItem: (key) => later(data.get(key) ?? null),
    setItem: async (key, value) => {
      await later(undefined);
      data.set(key, value);
    },
  };
}

describe('storage', () => {
  it('fileStorage: events not sent before shutdown are sent by the next client, with the same ids', async (t) => {
    const dir = tempDir(t);
    const down = await scriptedTracker(t, () => ({ status: 503, headers: { 'Retry-After': '3600' } }));
    const first = createClient({ endpoint: down.endpoint, storage: fileStorage(dir), flushIntervalMs: 3_600_000 });
    const ids = [first.track('a', { n: 1 }), first.track('b'), first.track('c')];
    assert.equal(await first.shutdown(), false);
    const file = path.join(dir, `${encodeURIComponent('pushtech:queue')}.json`);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as [string, string, unknown, number][];
    assert.deepEqual(
      stored.map((e) => e[0]),
      ids,
    );

    const up = await scriptedTracker(t);
    const second = createClient({ endpoint: up.endpoint, storage: fileStorage(dir), flushIntervalMs: 3_600_000 });
    const later = second.track('d');
    assert.equal(await second.flush(), true);
    assert.deepEqual(idsOf(up.accepted()), [...ids, later], 'stored events first, then the new one');
    assert.deepEqual(
      up.accepted().map((e) => e.params['_ct']),
      [...stored.map((e) => e[3]), up.accepted()[3]?.params['_ct']],
      'the created time is the one of track(), not of the send',
    );
    assert.equal(up.accepted()[0]?.params['n'], 1);
    await eventually('the sent events leave the file', () => (readFileSync(file, 'utf8') === '[]' ? true : undefined));
    await second.shutdown();
  });

  it('an async storage (AsyncStorage): events tracked before it answered are kept behind the stored ones', async (t) => {
    const storage = asyncStorage();
    const tracker = await scriptedTracker(t);
    storage.data.set(
      'pushtech:queue',
      JSON.stringify([['01JD0000000000000000000001', 'old', { k: 'v' }, 1_700_000_000_000]]),
    );
    const c = createClient({ endpoint: tracker.endpoint, storage, flushIntervalMs: 3_600_000 });
    const id = c.track('new');
    assert.equal(await c.flush(), true);
    assert.deepEqual(idsOf(tracker.accepted()), ['01JD0000000000000000000001', id]);
    assert.equal(tracker.accepted()[0]?.params['_ct'], 1_700_000_000_000);
    await eventually('storage emptied', () => (storage.data.get('pushtech:queue') === '[]' ? true : undefined));
    await c.shutdown();
  });

  it('a stored queue that is not JSON is reported and left behind; new events go on', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, `${encodeURIComponent('pushtech:queue')}.json`), '{not json');
    const tracker = await scriptedTracker(t);
    const drops: DropInfo[] = [];
    const c = createClient({
      endpoint: tracker.endpoint,
      storage: fileStorage(dir),
      onDrop: (d) => drops.push(d),
    });
    const id = c.track('e');
    assert.equal(await c.flush(), true);
    assert.deepEqual(idsOf(tracker.accepted()), [id]);
    await eventually('reported', () => (drops.length === 1 ? true : undefined));
    assert.deepEqual(drops, [{ reason: 'stored queue unreadable', status: 0, ids: [] }]);
    await c.shutdown();
  });

  it('fileStorage names the file it cannot read', (t) => {
    const dir = tempDir(t);
    const storage = fileStorage(path.join(dir, 'missing-parent', 'x'));
    assert.equal(storage.getItem('k'), null);
    writeFileSync(path.join(dir, 'afile'), '');
    assert.throws(() => fileStorage(path.join(dir, 'afile')).getItem('k'), /cannot read .*afile/);
  });
});
