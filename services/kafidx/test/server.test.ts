import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '@pushtech/devstack/testing';
import { TOKEN, TestSocket, startTestKafidx, type Message } from './helpers.js';

const typesOf = (events: Message[]): string[] => events.map((e) => String(e['type']));

describe('auth', () => {
  it('without a session the page, its assets and the socket are refused', async (t) => {
    const k = await startTestKafidx(t);
    for (const path of ['/', '/app.js', '/style.css']) {
      const res = await fetch(`${k.base}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(await res.text(), /Enter the dashboard token/);
    }
    const noCookie = new TestSocket(`ws://127.0.0.1:${k.port}/ws`, { cookie: '', origin: k.base });
    t.after(() => noCookie.close());
    await assert.rejects(noCookie.opened, /refused: 401/);
    const forged = new TestSocket(`ws://127.0.0.1:${k.port}/ws`, {
      cookie: `kafidx_session=${'0'.repeat(64)}`,
      origin: k.base,
    });
    t.after(() => forged.close());
    await assert.rejects(forged.opened, /refused: 401/);
  });

  it('a wrong token is refused; the right one sets an HttpOnly SameSite cookie and redirects', async (t) => {
    const k = await startTestKafidx(t);
    const wrong = await fetch(`${k.base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'nope' }),
      redirect: 'manual',
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const right = await fetch(`${k.base}/login?token=${encodeURIComponent(TOKEN)}`, { redirect: 'manual' });
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/');
    const cookie = right.headers.get('set-cookie') ?? '';
    assert.match(
      cookie,
      /^kafidx_session=v2\.[\w-]+\.\d+\.\d+\.[\w-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200/,
    );
    const page = await fetch(`${k.base}/`, { headers: { Cookie: cookie.split(';')[0] ?? '' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('a logged-in browser on another origin cannot open the socket', async (t) => {
    const k = await startTestKafidx(t);
    const cookie = await k.cookie();
    const other = new TestSocket(`ws://127.0.0.1:${k.port}/ws`, { cookie, origin: 'https://evil.example' });
    t.after(() => other.close());
    await assert.rejects(other.opened, /refused: 403/);
    const listed = await startTestKafidx(t, { KAFIDX_ALLOWED_ORIGINS: 'https://ops.example' });
    await listed.connect({ origin: 'https://ops.example' });
  });
});

describe('live events', () => {
  it('fans one consumer out to every browser', async (t) => {
    const k = await startTestKafidx(t);
    const sockets = [await k.connect(), await k.connect(), await k.connect()];
    await k.produce([{ type: 'a' }, { type: 'b' }, { type: 'c' }]);
    for (const s of sockets) {
      await eventually('3 events', () => (s.events().length >= 3 ? true : undefined));
      assert.deepEqual(typesOf(s.events()).sort(), ['a', 'b', 'c']);
    }
    const metrics = await (await fetch(`${k.opsBase}/metrics`)).text();
    assert.match(metrics, /pushtech_kafidx_events_in_total\{service="kafidx"\} 3/);
    assert.match(metrics, /pushtech_kafidx_events_sent_total\{service="kafidx"\} 9/);
    assert.match(metrics, /pushtech_kafidx_sockets\{service="kafidx"\} 3/);
  });

  it('applies each socket its own filter on the server', async (t) => {
    const k = await startTestKafidx(t);
    const filters: [Message, string[]][] = [
      [{ types: ['click'] }, ['click']],
      [{ text: 'Summer' }, ['view']],
      [{ country: 'fr' }, ['app_open']],
      [{ device: 'desktop' }, ['purchase']],
    ];
    const sockets: TestSocket[] = [];
    for (const [filter] of filters) {
      const s = await k.connect();
      s.send({ t: 'filter', filter });
      await s.next((m) => m['t'] === 'filter-ok');
      sockets.push(s);
    }
    const everything = await k.connect();
    await k.produce([
      { type: 'click', params: [['x', '1']] },
      { type: 'view', params: [['campaign', 'summer-sale']] },
      { type: 'app_open', meta: { country: 'FR' } },
      { type: 'purchase', meta: { type: 'Desktop' } },
    ]);
    await eventually('all 4 on the unfiltered socket', () => (everything.events().length >= 4 ? true : undefined));
    for (const [i, [, expected]] of filters.entries()) {
      const s = sockets[i] as TestSocket;
      await eventually(`filter ${i}`, () => (s.events().length >= expected.length ? true : undefined));
      assert.deepEqual(typesOf(s.events()), expected);
    }
  });

  it('refuses a malformed filter with a reason', async (t) => {
    const k = await startTestKafidx(t);
    const s = await k.connect();
    s.send({ t: 'filter', filter: { types: 'click' } });
    const error = await s.next((m) => m['t'] === 'error');
    assert.match(String(error['detail']), /filter\.types must be an array/);
  });

  it('a browser that never reads is skipped and told how many, and does not slow another', async (t) => {
    const k = await startTestKafidx(t, {
      KAFIDX_MAX_BUFFERED_BYTES: String(16 * 1024),
      KAFIDX_MAX_EVENTS_PER_SECOND: '1000000',
    });
    const stalled = await k.connect();
    const healthy = await k.connect();
    // Stop reading from the stalled socket: the server's send buffer for it fills up.
    const raw = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const big = 'x'.repeat(2000);
    const total = 2000;
    for (let i = 0; i < total; i += 200) {
      await k.produce(
        Array.from({ length: 200 }, (_, j) => ({
          type: 'bulk',
          params: [
            ['i', String(i + j)],
            ['pad', big],
          ] as [string, string][],
        })),
      );
    }
    // The healthy browser is held to the same buffer limit: on a loaded machine this test's own
    // reading can fall behind, and then it is skipped too (and told so). Not slowed means every
    // event reached it or was counted as skipped for it, never held back by the stalled one.
    const toldSkipped = (socket: TestSocket): number =>
      Math.max(0, ...socket.messages.filter((m) => m['skipped'] !== undefined).map((m) => Number(m['skipped'])));
    await eventually(
      'every event reached the healthy browser or was counted as skipped for it',
      () => (healthy.events().length + toldSkipped(healthy) >= total ? true : undefined),
      30_000,
    );
    assert.equal(healthy.events().length + toldSkipped(healthy), total);
    if (toldSkipped(healthy) > 0) t.diagnostic(`the healthy browser read too slowly: ${toldSkipped(healthy)} skipped`);
    assert.ok(healthy.events().length > 0, 'the healthy browser got events');
    const metrics = await (await fetch(`${k.opsBase}/metrics`)).text();
    const skipped = Number(/pushtech_kafidx_events_skipped_total\{service="kafidx"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(skipped > toldSkipped(healthy), 'the stalled browser was skipped');
    raw.resume();
    const status = await stalled.next(
      (m) => (m['t'] === 'status' || m['t'] === 'events') && Number(m['skipped']) > 0,
      20_000,
    );
    assert.equal(Number(status['skipped']), skipped - toldSkipped(healthy), 'the browser is told how many it missed');
  });

  it('above the per-browser rate the browser gets a sample and is told so', async (t) => {
    const k = await startTestKafidx(t, { KAFIDX_MAX_EVENTS_PER_SECOND: '5' });
    const s = await k.connect();
    await k.produce(Array.from({ length: 50 }, () => ({ type: 'burst' })));
    const told = await s.next((m) => Number(m['sampled']) > 0);
    await eventually('all 50 accounted for', () => {
      const last = [...s.messages].reverse().find((m) => m['sampled'] !== undefined);
      return s.events().length + Number(last?.['sampled'] ?? 0) >= 50 ? true : undefined;
    });
    assert.ok(Number(told['sampled']) > 0);
    assert.ok(s.events().length <= 10, `at most the rate per second (${s.events().length})`);
  });

  it('pause stops the stream for that browser only; resume brings it back', async (t) => {
    const k = await startTestKafidx(t);
    const paused = await k.connect();
    const other = await k.connect();
    paused.send({ t: 'pause' });
    await paused.next((m) => m['t'] === 'paused');
    await k.produce([{ type: 'while_paused' }]);
    await eventually('other got it', () => (other.events().length >= 1 ? true : undefined));
    paused.send({ t: 'resume' });
    await paused.next((m) => m['t'] === 'resumed');
    await k.produce([{ type: 'after_resume' }]);
    await eventually('resumed browser gets new events', () => (paused.events().length >= 1 ? true : undefined));
    assert.deepEqual(typesOf(paused.events()), ['after_resume']);
  });
});

describe('replay', () => {
  it('shows the last N minutes to the asking browser only, through its filter', async (t) => {
    const now = Date.now();
    const k = await startTestKafidx(t, {}, [
      { type: 'old', timestamp: now - 30 * 60_000 },
      { type: 'recent', timestamp: now - 2 * 60_000 },
      { type: 'recent', timestamp: now - 60_000 },
      { type: 'recent_other', timestamp: now - 30_000 },
    ]);
    const asking = await k.connect();
    const bystander = await k.connect();
    asking.send({ t: 'filter', filter: { types: ['recent', 'old'] } });
    await asking.next((m) => m['t'] === 'filter-ok');
    asking.send({ t: 'replay', minutes: 5 });
    const done = await asking.next((m) => m['t'] === 'replay-done', 30_000);
    assert.equal(done['count'], 2);
    assert.deepEqual(typesOf(asking.events()), ['recent', 'recent']);
    assert.ok(asking.messages.filter((m) => m['t'] === 'events').every((m) => m['replay'] === true));
    assert.deepEqual(bystander.events(), [], 'other browsers see nothing of it');
    asking.send({ t: 'replay', minutes: 100_000 });
    assert.match(
      String((await asking.next((m) => m['t'] === 'error'))['detail']),
      /replay\.minutes must be a number from 1 to 60/,
    );
  });
});
