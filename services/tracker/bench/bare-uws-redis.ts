// The floor of "stored before answered": uWebSockets.js pushing one fixed raw hit per request,
// all requests of an event-loop turn in one LPUSH (or, with PUSH_LINGER_MS, all of that many ms
// from the first, as the tracker's TRACKER_PUSH_LINGER_MS batches them), each answered 204 after
// Redis confirmed it (with the buffer's `appendfsync always`: after its fsync). No parsing, no
// event id, no checks, no metrics, no writer lease: what the tracker's write path costs alone.
import uWS, { type HttpResponse } from 'uWebSockets.js';
import { Redis } from 'ioredis';
import { encodeRawHit } from '@pushtech/event';

const port = Number(process.env['PORT'] ?? 0);
const key = process.env['REDIS_QUEUE_KEY'] ?? 'bench:bare-uws-redis';
const lingerMs = Number(process.env['PUSH_LINGER_MS'] ?? 0);
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
// The size of the tracker's raw hit for the bench's request.
const hit = encodeRawHit({
  id: '01KAQ4ZJ5V8Y3W0X9T6R2M1N7P',
  ts: 1_763_880_000_000,
  ip: '127.0.0.1',
  host: '127.0.0.1:8380',
  pod: 'bench',
  type: 'app_open',
  params: 'deviceid=3f1c9a7e-55b1-4c1e-9d0a-8f4e2b6a1c33&ts=1763880000000&referrer=website',
  ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
});

interface Waiting {
  readonly res: HttpResponse;
  aborted: boolean;
}
let waiting: Waiting[] = [];

function answer(w: Waiting, status: string): void {
  if (!w.aborted) w.res.cork(() => w.res.writeStatus(status).endWithoutBody());
}

function flush(): void {
  const batch = waiting;
  waiting = [];
  redis.lpush(key, ...batch.map(() => hit)).then(
    () => batch.forEach((w) => answer(w, '204 No Content')),
    () => batch.forEach((w) => answer(w, '503 Service Unavailable')),
  );
}

uWS
  .App()
  .any('/*', (res) => {
    const w: Waiting = { res, aborted: false };
    res.onAborted(() => {
      w.aborted = true;
    });
    if (waiting.push(w) === 1) {
      if (lingerMs > 0) setTimeout(flush, lingerMs);
      else setImmediate(flush);
    }
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`listening ${uWS.us_socket_local_port(socket)}\n`);
  });
process.on('SIGTERM', () => process.exit(0));
