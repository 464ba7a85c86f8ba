import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { makePixel, runLoad, seededRandom } from '../src/index.js';

async function server(
  t: { after(fn: () => unknown): void },
  status: number,
): Promise<{ url: string; requests: IncomingMessage[]; bodies: string[] }> {
  const requests: IncomingMessage[] = [];
  const bodies: string[] = [];
  const s = createServer((req, res) => {
    requests.push(req);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise((r) => s.close(r)));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, requests, bodies };
}

describe('runLoad', () => {
  it('sends exactly rate x duration pixels and counts every acknowledgement', async (t) => {
    const target = await server(t, 204);
    const acked: string[] = [];
    const result = await runLoad({
      target: target.url,
      rate: 200,
      durationSeconds: 1.5,
      connections: 16,
      seed: 7,
      onAcknowledged: (r) => acked.push(...r),
    });
    assert.equal(result.scheduled, 300);
    assert.equal(result.acknowledged, 300);
    assert.equal(result.refused + result.failed, 0);
    assert.deepEqual(result.statuses, { 204: 300 });
    assert.equal(result.latency.count, 300);
    assert.equal(target.requests.length, 300);
    assert.equal(new Set(acked).size, 300, 'every acknowledged request has its own id');
    const first = target.requests[0];
    assert.match(first?.url ?? '', /^\/t\/[a-z_]+\?deviceid=d-[0-9a-z]+&ts=\d+&rid=/);
    assert.ok(first?.headers['user-agent']);
    assert.ok(first?.headers['x-forwarded-for']);
    assert.ok(result.elapsedSeconds >= 1.4, 'the rate is held, not exceeded');
    // Requests go out up to 1 ms before their time; their latency counts from the send then.
    assert.ok(result.latency.percentile(0) >= 0, `no latency below 0 (least ${result.latency.percentile(0)} ms)`);
  });

  it('batch mode posts JSON batches and counts events', async (t) => {
    const target = await server(t, 200);
    const result = await runLoad({
      target: target.url,
      rate: 400,
      durationSeconds: 1,
      batchSize: 40,
      connections: 4,
      event: 'app_open',
    });
    assert.equal(target.requests.length, 10);
    assert.equal(result.acknowledged, 400);
    const batch = JSON.parse(target.bodies[0] ?? '[]') as { event: string; params: Record<string, string> }[];
    assert.equal(batch.length, 40);
    assert.equal(batch[0]?.event, 'app_open');
    assert.ok(batch[0]?.params['rid']);
  });

  it('counts refusals and connection failures separately', async (t) => {
    const target = await server(t, 503);
    const refused = await runLoad({ target: target.url, rate: 50, durationSeconds: 0.5, connections: 4 });
    assert.equal(refused.refused, 25);
    assert.equal(refused.acknowledged, 0);
    const nowhere = await runLoad({ target: 'http://127.0.0.1:1', rate: 20, durationSeconds: 0.5, connections: 2 });
    assert.equal(nowhere.failed, 10);
  });

  it('behind a slow server, keeps a bounded number of requests outstanding and counts the wait as latency', async (t) => {
    // 2 connections x 50 ms per answer = 40 answers/s, far below the 200/s offered.
    const s = createServer((_req, res) => void setTimeout(() => res.writeHead(204).end(), 50));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise((r) => s.close(r)));
    const inFlight: number[] = [];
    const result = await runLoad(
      {
        target: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
        rate: 200,
        durationSeconds: 1,
        connections: 2,
      },
      (snapshot) => inFlight.push(snapshot.inFlight),
    );
    assert.equal(result.acknowledged, 200, 'every request is still sent and answered');
    assert.ok(inFlight.length >= 3, `progress was reported while behind (${inFlight.length} snapshots)`);
    assert.ok(Math.max(...inFlight) <= 8, `at most connections x 4 outstanding, saw ${inFlight.join(', ')}`);
    // The last request was due at 1 s but answered after ~5 s: its latency counts from the due time.
    assert.ok(result.latency.percentile(99) >= 3000, `p99 ${result.latency.percentile(99)} ms shows the queueing`);
  });

  it('generates the same traffic from the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const pa = Array.from({ length: 20 }, (_, i) => makePixel(i, a, { runId: 'r' }));
    const pb = Array.from({ length: 20 }, (_, i) => makePixel(i, b, { runId: 'r' }));
    assert.deepEqual(
      pa.map((p) => [p.path.replace(/ts=\d+/, ''), p.userAgent, p.forwardedFor]),
      pb.map((p) => [p.path.replace(/ts=\d+/, ''), p.userAgent, p.forwardedFor]),
    );
    assert.ok(new Set(pa.map((p) => p.path.split('?')[0])).size > 1, 'a mix of event types');
  });
});
