import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { DashboardAuth } from '../src/auth.js';
import { LoginThrottle } from '../src/login-throttle.js';
import { TOKEN, TestSocket, startTestKafidx, type TestKafidx } from './helpers.js';

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request from a chosen local address (any of 127.0.0.0/8 reaches the server). */
function request(
  k: TestKafidx,
  options: { path: string; method?: string; body?: string; from?: string; headers?: Record<string, string> },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: k.port,
        path: options.path,
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
        headers: {
          ...(options.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const login = (k: TestKafidx, token: string, from?: string, headers?: Record<string, string>): Promise<Answer> =>
  request(k, {
    path: '/login',
    method: 'POST',
    body: new URLSearchParams({ token }).toString(),
    ...(from === undefined ? {} : { from }),
    ...(headers === undefined ? {} : { headers }),
  });

const page = async (k: TestKafidx, cookie: string): Promise<number> =>
  (await fetch(`${k.base}/`, { headers: { Cookie: cookie } })).status;

const logout = (k: TestKafidx, cookie: string): Promise<Response> =>
  fetch(`${k.base}/logout`, { method: 'POST', headers: { Cookie: cookie }, redirect: 'manual' });

function socketWith(t: { after: (fn: () => void) => void }, k: TestKafidx, cookie: string, origin: string): TestSocket {
  const socket = new TestSocket(`ws://127.0.0.1:${k.port}/ws`, { cookie, origin });
  t.after(() => socket.close());
  return socket;
}

describe('sessions', () => {
  it(
    'logout ends that session: its cookie is refused and its open socket closed; others go on',
    { timeout: 60_000 },
    async (t) => {
      const k = await startTestKafidx(t);
      const cookie = await k.cookie();
      const other = await k.cookie();
      assert.notEqual(cookie, other, 'every login is a session of its own');
      const socket = await k.connect({ cookie });
      const bystander = await k.connect({ cookie: other });
      assert.equal(await page(k, cookie), 200);

      const out = await logout(k, cookie);
      assert.equal(out.status, 303);
      assert.match(out.headers.get('set-cookie') ?? '', /^kafidx_session=; .*Max-Age=0/);
      assert.equal(await socket.closed, 4401, 'the open socket of the session is closed, telling the page to log in');

      // The browser deletes the cookie; a copy of it (stolen) does not open anything any more.
      assert.equal(await page(k, cookie), 401);
      const again = socketWith(t, k, cookie, k.base);
      await assert.rejects(again.opened, /refused: 401/);
      assert.equal(await page(k, other), 200, 'another session is not logged out');
      assert.equal(bystander.ws.readyState, bystander.ws.OPEN);
    },
  );

  it('a cookie whose expiry, issue time or id was changed is refused', async (t) => {
    const k = await startTestKafidx(t);
    const cookie = await k.cookie();
    const match = /^kafidx_session=v2\.([\w-]+)\.(\d+)\.(\d+)\.([\w-]+)$/.exec(cookie);
    assert.ok(match, `cookie format: ${cookie}`);
    const [, id = '', issued = '', expires = '', mac = ''] = match;
    const forge = (i: string, iat: string, exp: string): string => `kafidx_session=v2.${i}.${iat}.${exp}.${mac}`;
    assert.equal(await page(k, forge(id, issued, expires)), 200, 'the untouched cookie works');
    const later = String(Number(expires) + 365 * 24 * 3600 * 1000);
    const otherId = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`;
    for (const forged of [
      forge(id, issued, later),
      forge(id, String(Number(issued) + 1), expires),
      forge(otherId, issued, expires),
    ]) {
      assert.equal(await page(k, forged), 401, forged);
      await assert.rejects(socketWith(t, k, forged, k.base).opened, /refused: 401/);
    }
  });

  it(
    'a session expires after KAFIDX_SESSION_TTL_SECONDS: page refused, open socket closed',
    { timeout: 60_000 },
    async (t) => {
      const k = await startTestKafidx(t, { KAFIDX_SESSION_TTL_SECONDS: '2' });
      const res = await login(k, TOKEN);
      assert.equal(res.status, 303);
      assert.match(String(res.headers['set-cookie']), /Max-Age=2;?/);
      const cookie = String(res.headers['set-cookie']).split(';')[0] ?? '';
      const socket = await k.connect({ cookie });
      assert.equal(await page(k, cookie), 200);
      assert.equal(await socket.closed, 4401, 'the socket is closed when its session expires');
      assert.equal(await page(k, cookie), 401);
      await assert.rejects(socketWith(t, k, cookie, k.base).opened, /refused: 401/);
    },
  );

  it('the revocation list is bounded: beyond it, every session issued so far ends', () => {
    const auth = new DashboardAuth(TOKEN, { secureCookie: false, ttlSeconds: 3600, maxRevoked: 3 });
    const sessions = Array.from({ length: 5 }, (_, i) => auth.issue(1_000 + i).session);
    for (const s of sessions.slice(0, 3)) auth.revoke(s, 2_000);
    assert.equal(auth.revokedCount, 3);
    assert.equal(auth.ended(sessions[3] as (typeof sessions)[number], 2_000), false);
    auth.revoke(sessions[3] as (typeof sessions)[number], 2_000);
    assert.ok(auth.revokedCount <= 3);
    for (const s of sessions) assert.equal(auth.ended(s, 2_000), true, 'all sessions issued before are ended');
    assert.equal(auth.ended(auth.issue(2_001).session, 2_001), false, 'a new login works');
    // Logged-out sessions are forgotten once expired: the list does not keep them.
    const fresh = new DashboardAuth(TOKEN, { secureCookie: false, ttlSeconds: 1, maxRevoked: 3 });
    for (let i = 0; i < 10; i += 1) fresh.revoke(fresh.issue(i * 10_000).session, i * 10_000);
    assert.equal(fresh.revokedCount, 1);
  });
});

describe('login throttle', () => {
  it('300 wrong tokens from one address: 5 answered, the rest 429; the right token from another address works', async (t) => {
    const k = await startTestKafidx(t);
    const statuses = new Map<number, number>();
    let throttled: Answer | undefined;
    for (let i = 0; i < 300; i += 1) {
      const res = await login(k, `wrong-token-${i}-0123456789`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 429) throttled = res;
    }
    assert.deepEqual(Object.fromEntries(statuses), { 401: 5, 429: 295 });
    assert.ok(throttled);
    const retryAfter = Number(throttled.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(throttled.body, /Too many wrong tokens from your address: try again in \d+ s/);
    assert.equal((await login(k, TOKEN)).status, 429, 'the blocked address gets no answer about any token');
    assert.equal((await login(k, TOKEN, '127.0.0.2')).status, 303, 'another address logs in');
    const metrics = await (await fetch(`${k.opsBase}/metrics`)).text();
    assert.match(metrics, /pushtech_kafidx_logins_throttled_total\{service="kafidx"\} 296/);
  });

  it('X-Forwarded-For counts only from a trusted proxy', async (t) => {
    const direct = await startTestKafidx(t);
    for (let i = 0; i < 5; i += 1) {
      assert.equal(
        (await login(direct, 'wrong-token-0123456789', undefined, { 'X-Forwarded-For': `203.0.113.${i}` })).status,
        401,
      );
    }
    assert.equal(
      (await login(direct, TOKEN, undefined, { 'X-Forwarded-For': '203.0.113.99' })).status,
      429,
      'a client cannot pick its own address',
    );

    const proxied = await startTestKafidx(t, { KAFIDX_TRUSTED_PROXIES: '127.0.0.0/8' });
    const from = (client: string): Record<string, string> => ({ 'X-Forwarded-For': `1.2.3.4, ${client}` });
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await login(proxied, 'wrong-token-0123456789', undefined, from('203.0.113.7'))).status, 401);
    }
    assert.equal((await login(proxied, TOKEN, undefined, from('203.0.113.7'))).status, 429);
    assert.equal((await login(proxied, TOKEN, undefined, from('203.0.113.8'))).status, 303, 'behind the proxy');
  });

  it('remembers a bounded number of addresses', () => {
    const throttle = new LoginThrottle(1, 3);
    for (let i = 0; i < 10; i += 1) throttle.failed(`10.0.0.${i}`, 1_000 + i);
    assert.equal(throttle.size, 3);
    assert.ok(throttle.retryAfter('10.0.0.9', 1_010) > 0, 'the newest windows are kept');
    assert.equal(throttle.retryAfter('10.0.0.9', 61_010), 0, 'a window lasts a minute');
  });
});

describe('origin', () => {
  it('is compared by scheme, host and port', async (t) => {
    const k = await startTestKafidx(t, { KAFIDX_ALLOWED_ORIGINS: 'https://ops.example:443' });
    const cookie = await k.cookie();
    for (const origin of [
      `https://127.0.0.1:${k.port}`,
      `http://127.0.0.1:${k.port + 1}`,
      'http://127.0.0.1',
      `http://localhost:${k.port}`,
      'null',
    ]) {
      await assert.rejects(socketWith(t, k, cookie, origin).opened, /refused: 403/, origin);
    }
    await k.connect({ cookie, origin: k.base });
    await k.connect({ cookie, origin: 'https://ops.example' });
  });

  it('behind a TLS proxy the page origin is KAFIDX_PUBLIC_ORIGIN', async (t) => {
    const k = await startTestKafidx(t, { KAFIDX_PUBLIC_ORIGIN: 'https://dash.example.com' });
    const cookie = await k.cookie();
    await k.connect({ cookie, origin: 'https://dash.example.com' });
    for (const origin of [k.base, 'http://dash.example.com', 'https://dash.example.com:8443']) {
      await assert.rejects(socketWith(t, k, cookie, origin).opened, /refused: 403/, origin);
    }
  });
});

describe('ops listener', () => {
  it('serves /metrics, /healthz and /readyz; the browser-facing listener does not', async (t) => {
    const k = await startTestKafidx(t);
    const cookie = await k.cookie();
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      assert.equal((await fetch(`${k.base}${path}`)).status, 404, `${path} without a session`);
      assert.equal((await fetch(`${k.base}${path}`, { headers: { Cookie: cookie } })).status, 404, `${path} with one`);
      assert.equal((await fetch(`${k.opsBase}${path}`)).status, 200, `${path} on the ops port`);
    }
    assert.match(await (await fetch(`${k.opsBase}/metrics`)).text(), /pushtech_kafidx_sockets/);
  });
});
