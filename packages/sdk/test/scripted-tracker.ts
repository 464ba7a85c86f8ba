/**
 * A tiny HTTP server that speaks the tracker's `POST /t` protocol and answers as each test
 * scripts it (an error status, a Retry-After, a reset connection, no answer), recording every
 * request. Protocol-level behaviour of the SDK is tested against it; the real tracker is used
 * where the tracker's own checks matter (tracker.test.ts, browser.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cleanup } from '@pushtech/devstack/testing';

export interface WireEvent {
  readonly event: string;
  readonly params: Record<string, string | number | boolean>;
}

export interface Received {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly events: WireEvent[];
}

/** What to do with a request: answer with a status (and headers, body), reset it, or never answer. */
export type Answer =
  { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string } | 'reset' | 'hang';

export interface ScriptedTracker {
  readonly endpoint: string;
  /** Every request, in arrival order, including the ones that were not accepted. */
  readonly requests: Received[];
  /** Events of the requests answered 2xx, in order. */
  accepted(): WireEvent[];
}

export async function scriptedTracker(
  t: Cleanup,
  answer: (request: Received, index: number) => Answer = () => ({ status: 200 }),
): Promise<ScriptedTracker> {
  const requests: Received[] = [];
  const acceptedEvents: WireEvent[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const received: Received = {
        url: req.url ?? '',
        headers: req.headers,
        events: text === '' ? [] : (JSON.parse(text) as WireEvent[]),
      };
      requests.push(received);
      const a = answer(received, requests.length - 1);
      if (a === 'hang') return;
      if (a === 'reset') {
        req.socket.destroy();
        return;
      }
      if (a.status >= 200 && a.status < 300) acceptedEvents.push(...received.events);
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
      res.end(a.body ?? JSON.stringify({ accepted: received.events.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests, accepted: () => acceptedEvents };
}

/** The ids of events, in order. */
export const idsOf = (events: readonly WireEvent[]): string[] => events.map((e) => String(e.params['_id']));
