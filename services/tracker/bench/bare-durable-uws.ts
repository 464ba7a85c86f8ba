// The floor of a durable answer: a uWebSockets.js server that pushes one hit-sized entry per
// request to Redis, one multi-value LPUSH per PUSH_LINGER_MS as the tracker batches them, and
// answers 204 only once Redis confirmed the push (with the buffer's `appendfsync always`: after
// its fsync). No query parsing, ids, client IPs, metrics, limits or writer lease: what any
// server that acknowledges only stored hits pays, against which the tracker's own work shows.
import { Redis } from 'ioredis';
import uWS from 'uWebSockets.js';

const port = Number(process.env['PORT'] ?? 0);
const lingerMs = Number(process.env['PUSH_LINGER_MS'] ?? 2);
const redisUrl = process.env['REDIS_URL'];
if (!redisUrl) {
  process.stderr.write('bare-durable-uws: set REDIS_URL to the Redis to push to\n');
  process.exit(2);
}
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
redis.on('error', (error: Error) => process.stderr.write(`bare-durable-uws: redis: ${error.message}\n`));
/** About the size of an encoded raw hit (300-400 bytes, docs/deploy.md). */
const ENTRY = 'x'.repeat(350);
const KEY = 'bare:hits';

interface Waiting {
  readonly res: uWS.HttpResponse;
  aborted: boolean;
}
let waiting: Waiting[] = [];
let timer: NodeJS.Timeout | undefined;

function answer(batch: readonly Waiting[], status: string): void {
  for (const w of batch) {
    if (!w.aborted) w.res.cork(() => w.res.writeStatus(status).endWithoutBody());
  }
}

function flush(): void {
  timer = undefined;
  const batch = waiting;
  waiting = [];
  redis.lpush(KEY, ...batch.map(() => ENTRY)).then(
    () => answer(batch, '204 No Content'),
    () => answer(batch, '503 Service Unavailable'),
  );
}

uWS
  .App()
  .any('/*', (res) => {
    const w: Waiting = { res, aborted: false };
    res.onAborted(() => {
      w.aborted = true;
    });
    waiting.push(w);
    timer ??= setTimeout(flush, lingerMs);
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`listening ${uWS.us_socket_local_port(socket)}\n`);
  });
process.on('SIGTERM', () => process.exit(0));
