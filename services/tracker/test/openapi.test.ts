import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openApi } from '../src/openapi.js';
import { request, startTestTracker } from './helpers.js';

type Operation = { responses: Record<string, unknown> };
const paths = openApi.paths as unknown as Record<string, Record<string, unknown>>;

function documented(path: string, method: string): string[] {
  const op = paths[path]?.[method] as Operation | undefined;
  return op ? Object.keys(op.responses) : [];
}

/** Requests covering each documented operation, and the documented path they exercise. */
const conformance: [string, string, string, Record<string, string>, string | undefined][] = [
  ['/t/{event}', 'GET', '/t/a?x=1', {}, undefined],
  ['/t/{event}', 'GET', '/t/a.gif', {}, undefined],
  ['/t/{event}', 'GET', '/t/', {}, undefined],
  ['/t/{event}', 'GET', `/t/a?q=${'x'.repeat(9000)}`, {}, undefined],
  ['/t/{event}', 'HEAD', '/t/a', {}, undefined],
  ['/t/{event}', 'POST', '/t/a', { 'Content-Type': 'application/json' }, '{"a":1}'],
  ['/t/{event}', 'POST', '/t/a', { 'Content-Type': 'image/png' }, 'x'],
  ['/t/{event}', 'OPTIONS', '/t/a', { Origin: 'https://a.example' }, undefined],
  ['/t', 'POST', '/t', {}, '[{"event":"a"}]'],
  ['/t', 'POST', '/t', {}, '[{"event":""}]'],
  ['/t', 'OPTIONS', '/t', { Origin: 'https://a.example' }, undefined],
  ['/r/{event}', 'GET', '/r/a?to=https%3A%2F%2Fexample.com%2F', {}, undefined],
  ['/r/{event}', 'GET', '/r/a?to=https%3A%2F%2Fevil.example%2F', {}, undefined],
  ['/healthz', 'GET', '/healthz', {}, undefined],
  ['/readyz', 'GET', '/readyz', {}, undefined],
  ['/metrics', 'GET', '/metrics', {}, undefined],
  ['/openapi.json', 'GET', '/openapi.json', {}, undefined],
];

describe('OpenAPI document', () => {
  it('is served at /openapi.json and is the document in the source', async (t) => {
    const tt = await startTestTracker(t);
    const res = await request(tt.port, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), JSON.parse(JSON.stringify(openApi)));
  });

  it('is structurally sound: version, info, every $ref resolves, every operation has responses', () => {
    assert.equal(openApi.openapi, '3.1.0');
    assert.ok(openApi.info.title && openApi.info.version);
    const text = JSON.stringify(openApi);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(ref && ref in openApi.components.schemas, `dangling $ref ${ref}`);
    }
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters') continue;
        assert.ok(['get', 'head', 'post', 'options'].includes(method), `${path}: unexpected key ${method}`);
        assert.ok(Object.keys((op as Operation).responses).length > 0, `${path} ${method} documents no response`);
      }
    }
  });

  it('documents every status the server actually answers on each operation', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_REDIRECT_HOSTS: 'example.com' });
    for (const [docPath, method, path, headers, body] of conformance) {
      const res = await request(tt.port, method, path, { headers, ...(body === undefined ? {} : { body }) });
      const statuses = documented(docPath, method.toLowerCase());
      assert.ok(
        statuses.includes(String(res.status)),
        `${method} ${path.slice(0, 40)} answered ${res.status}; ${docPath} documents ${statuses.join(', ')}`,
      );
    }
    // Every documented operation was exercised by the table above.
    const exercised = new Set(conformance.map(([p, m]) => `${m.toLowerCase()} ${p}`));
    for (const [path, item] of Object.entries(paths)) {
      for (const method of Object.keys(item)) {
        if (method !== 'parameters')
          assert.ok(exercised.has(`${method} ${path}`), `no request exercises ${method} ${path}`);
      }
    }
  });
});
