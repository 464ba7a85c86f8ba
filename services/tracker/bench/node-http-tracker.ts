// The conventional alternative: node:http + ioredis, one LPUSH per request (as the original
// Express tracker did), answering after Redis confirmed. Same raw hit, same validation of the name.
import http from 'node:http';
import { Redis } from 'ioredis';
import { decodeParams, encodeParams, encodeRawHit, newEventId } from '@pushtech/event';

const port = Number(process.env['PORT'] ?? 0);
const key = process.env['REDIS_QUEUE_KEY'] ?? 'bench:node-http';
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith('/t/')) {
    res.writeHead(404).end();
    return;
  }
  let type: string;
  try {
    type = decodeURIComponent(path.slice(3));
  } catch {
    res.writeHead(400).end();
    return;
  }
  const hit = encodeRawHit({
    id: newEventId(),
    ts: Date.now(),
    ip: req.socket.remoteAddress ?? '',
    host: req.headers.host ?? '',
    pod: 'bench',
    type,
    params: encodeParams(decodeParams(q === -1 ? '' : url.slice(q + 1))),
    ua: req.headers['user-agent'] ?? '',
  });
  redis.lpush(key, hit).then(
    () => res.writeHead(204).end(),
    () => res.writeHead(503).end(),
  );
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
