/**
 * Tracker benchmark: the same wrk load (keep-alive, 1 thread, 100 connections) against
 *   1. a bare uWebSockets.js server that only answers (the ceiling),
 *   2. the tracker (stores every event in Redis before answering),
 *   3. a node:http + ioredis tracker doing the same work, one LPUSH per request;
 * then the tracker at half its measured maximum for latency (wrk paced by bench/paced.lua),
 * the bare server at that same rate (what the load generator and machine alone add), and the
 * tracker's memory. Every tracker run is checked: Redis must hold as many events as were
 * answered 2xx.
 * Prints a table and writes JSON to $PUSHTECH_BENCH_RESULTS/tracker.json.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, repoRoot } from '@pushtech/devstack';
import { testInfra } from '@pushtech/devstack/testing';

const here = path.dirname(fileURLToPath(import.meta.url));
const serviceDir = path.resolve(here, '..');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = 100;
const target = '/t/app_open?deviceid=3f1c9a7e-55b1-4c1e-9d0a-8f4e2b6a1c33&ts=1763880000000&referrer=website';
const userAgent =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Started once it answers at all; a tracker only once /readyz says 200 (Redis connected). */
async function startServer(args: string[], env: Record<string, string>, needReady = false): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: serviceDir,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      TRACKER_PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout ?? process.stdin });
  lines.on('line', () => undefined);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (!needReady || res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`server ${args.join(' ')} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
}

interface WrkResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

interface WrkOptions {
  readonly seconds: number;
  /** Each connection's pause between a response and its next request (bench/paced.lua). */
  readonly paceMs?: number;
}

async function wrk(port: number, options: WrkOptions = { seconds }): Promise<WrkResult> {
  const paced = options.paceMs === undefined ? [] : ['-s', path.join(here, 'paced.lua')];
  const { stdout } = await promisify(execFile)(
    'wrk',
    [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${options.seconds}s`,
      '--latency',
      ...paced,
      '-H',
      `User-Agent: ${userAgent}`,
      `http://127.0.0.1:${port}${target}`,
    ],
    { env: { ...process.env, PACE_MS: String(options.paceMs ?? 0) } },
  );
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    p50ms: toMs(/^\s+50%\s+(\S+)$/m.exec(stdout)?.[1] ?? ''),
    p99ms: toMs(/^\s+99%\s+(\S+)$/m.exec(stdout)?.[1] ?? ''),
  };
}

/**
 * wrk at about `rate` requests/s, for latency. A connection's cycle is its pause plus the
 * response time, so two 2 s probes measure the response time and shorten the pause by it.
 */
async function atRate(port: number, rate: number): Promise<WrkResult> {
  const cycleMs = (CONNECTIONS * 1000) / rate;
  let paceMs = cycleMs;
  for (let probe = 0; probe < 2; probe += 1) {
    const measured = await wrk(port, { seconds: 2, paceMs });
    const responseMs = (CONNECTIONS * 1000) / measured.requestsPerSecond - paceMs;
    paceMs = Math.max(0, cycleMs - responseMs);
  }
  return wrk(port, { seconds, paceMs });
}

function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const { redisUrl } = await testInfra();
  const redis = new Redis(redisUrl);
  const trackerKey = `bench:tracker:${process.pid}`;
  const nodeKey = `bench:node-http:${process.pid}`;
  const writePathKey = `bench:bare-uws-redis:${process.pid}`;
  await redis.del(trackerKey, nodeKey, writePathKey);
  const built = existsSync(path.join(serviceDir, 'dist', 'main.js'));
  const trackerArgs = built ? ['dist/main.js'] : ['--conditions=development', '--import', 'tsx', 'src/main.ts'];
  const tsx = ['--conditions=development', '--import', 'tsx'];
  // Trusted proxies as behind a load balancer (and as .env has it): the peer is checked on
  // every request, and X-Forwarded-For would be read.
  const env = {
    REDIS_URL: redisUrl,
    TRACKER_WORKERS: '1',
    TRACKER_HOST: '127.0.0.1',
    TRACKER_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
    NODE_ENV: 'production',
  };

  console.log(
    `tracker benchmark: wrk -t1 -c100 -d${seconds}s, keep-alive, ${built ? 'built tracker (dist)' : 'tracker via tsx'}`,
  );

  const bare = await startServer([...tsx, 'bench/bare-uws.ts'], {});
  const bareResult = await wrk(bare.port);
  await stopServer(bare);

  const tracker = await startServer(trackerArgs, { ...env, REDIS_QUEUE_KEY: trackerKey }, true);
  const trackerResult = await wrk(tracker.port);
  const storedAfterMax = await redis.llen(trackerKey);
  const halfRate = Math.round(trackerResult.requestsPerSecond / 2);
  const half = await atRate(tracker.port, halfRate);
  const memory = memoryMiB(tracker.child.pid ?? 0);
  const storedTotal = await redis.llen(trackerKey);
  await stopServer(tracker);

  // The floor of that latency on this machine: the bare server under the same load generator
  // at the same rate (wrk shares the 2 cores with the server).
  const bareAgain = await startServer([...tsx, 'bench/bare-uws.ts'], {});
  const bareHalf = await atRate(bareAgain.port, halfRate);
  await stopServer(bareAgain);

  // The floor of storing before answering: uWS and one LPUSH per loop turn, nothing else.
  const writePath = await startServer([...tsx, 'bench/bare-uws-redis.ts'], {
    REDIS_URL: redisUrl,
    REDIS_QUEUE_KEY: writePathKey,
  });
  const writePathResult = await wrk(writePath.port);
  const writePathHalf = await atRate(writePath.port, halfRate);
  await stopServer(writePath);

  const nodeHttp = await startServer([...tsx, 'bench/node-http-tracker.ts'], {
    REDIS_URL: redisUrl,
    REDIS_QUEUE_KEY: nodeKey,
  });
  const nodeResult = await wrk(nodeHttp.port);
  await stopServer(nodeHttp);
  await redis.del(trackerKey, nodeKey, writePathKey);
  redis.disconnect();

  const answered2xx = trackerResult.requests - trackerResult.non2xx;
  const result = {
    date: new Date().toISOString(),
    seconds,
    machine: { cpus: (await import('node:os')).availableParallelism(), node: process.version },
    bareUws: bareResult,
    tracker: { ...trackerResult, storedDuringMaxRun: storedAfterMax, answered2xx, memoryMiB: memory },
    trackerHalfRate: {
      targetRate: halfRate,
      achievedRate: half.requestsPerSecond,
      p50ms: half.p50ms,
      p99ms: half.p99ms,
      non2xx: half.non2xx,
    },
    bareUwsHalfRate: {
      achievedRate: bareHalf.requestsPerSecond,
      p50ms: bareHalf.p50ms,
      p99ms: bareHalf.p99ms,
    },
    bareUwsRedis: {
      ...writePathResult,
      halfRate: {
        achievedRate: writePathHalf.requestsPerSecond,
        p50ms: writePathHalf.p50ms,
        p99ms: writePathHalf.p99ms,
      },
    },
    nodeHttpIoredis: nodeResult,
    ratios: {
      trackerVsBare: trackerResult.requestsPerSecond / bareResult.requestsPerSecond,
      trackerVsNodeHttp: trackerResult.requestsPerSecond / nodeResult.requestsPerSecond,
    },
    storedTotal,
    summary: {
      bench: 'tracker',
      title: 'Tracker: pixels into Redis (wrk, keep-alive)',
      rows: [
        {
          name: 'bare uWebSockets.js, answers only',
          metric: 'req/s',
          value: Math.round(bareResult.requestsPerSecond),
          baseline: true,
        },
        { name: 'tracker, stores every event', metric: 'req/s', value: Math.round(trackerResult.requestsPerSecond) },
        {
          name: 'bare uWebSockets.js + one LPUSH per loop turn, nothing else',
          metric: 'req/s',
          value: Math.round(writePathResult.requestsPerSecond),
        },
        { name: 'node:http + ioredis, same work', metric: 'req/s', value: Math.round(nodeResult.requestsPerSecond) },
        { name: `tracker at ${halfRate}/s p50`, metric: 'ms at half rate', value: half.p50ms },
        { name: `tracker at ${halfRate}/s p99`, metric: 'ms at half rate', value: half.p99ms },
        {
          name: `bare uWebSockets.js at ${halfRate}/s p99 (the same load generator's floor)`,
          metric: 'ms at half rate',
          value: bareHalf.p99ms,
        },
        {
          name: `bare uWebSockets.js + LPUSH at ${halfRate}/s p99 (the floor of storing before answering)`,
          metric: 'ms at half rate',
          value: writePathHalf.p99ms,
        },
        { name: 'tracker RSS after the runs', metric: 'MiB', value: Math.round(memory.rss) },
      ],
      goals: [
        {
          goal: 'tracker >= 0.6x the bare server',
          value: `${(trackerResult.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2)}x`,
          met: trackerResult.requestsPerSecond >= 0.6 * bareResult.requestsPerSecond,
        },
        { goal: 'p99 < 5 ms at half that rate', value: `${half.p99ms} ms`, met: half.p99ms < 5 },
        { goal: 'RSS < 150 MiB', value: `${memory.rss.toFixed(0)} MiB`, met: memory.rss < 150 },
      ],
      notes: [
        `every 2xx stored: ${storedAfterMax} entries in Redis for ${answered2xx} 2xx answers in the max run`,
        'the load generator (wrk, one thread) shares the 2 cores with the server and Redis',
        'the tracker trusts 127.0.0.1 as a proxy, so it checks the peer of every request as behind a load balancer',
      ],
    },
  };

  const row = (name: string, r: { requestsPerSecond: number; p50ms: number; p99ms: number; non2xx: number }): string =>
    `| ${name.padEnd(28)} | ${Math.round(r.requestsPerSecond).toString().padStart(8)} | ${r.p50ms.toFixed(2).padStart(7)} | ${r.p99ms.toFixed(2).padStart(7)} | ${String(r.non2xx).padStart(6)} |`;
  console.log('| server                       |    req/s | p50 ms  | p99 ms  | non2xx |');
  console.log('|------------------------------|----------|---------|---------|--------|');
  console.log(row('bare uWebSockets.js (ceiling)', bareResult));
  console.log(row('tracker (stores in Redis)', trackerResult));
  console.log(row('bare uWS + LPUSH (write path)', writePathResult));
  console.log(row('node:http + ioredis', nodeResult));
  console.log(
    `tracker at half rate (${halfRate}/s asked, ${Math.round(half.requestsPerSecond)}/s done, paced wrk): p50 ${half.p50ms} ms, p99 ${half.p99ms} ms, non2xx ${half.non2xx}`,
  );
  console.log(
    `bare uWebSockets.js at the same rate (${Math.round(bareHalf.requestsPerSecond)}/s done): p50 ${bareHalf.p50ms} ms, p99 ${bareHalf.p99ms} ms (the floor of this measurement)`,
  );
  console.log(
    `bare uWebSockets.js + LPUSH at the same rate (${Math.round(writePathHalf.requestsPerSecond)}/s done): p50 ${writePathHalf.p50ms} ms, p99 ${writePathHalf.p99ms} ms (the floor of storing before answering)`,
  );
  console.log(`tracker memory: RSS ${memory.rss.toFixed(0)} MiB, peak ${memory.peak.toFixed(0)} MiB`);
  console.log(
    `tracker/bare = ${result.ratios.trackerVsBare.toFixed(2)}x, tracker/node:http = ${result.ratios.trackerVsNodeHttp.toFixed(2)}x; stored ${storedAfterMax} events for ${answered2xx} 2xx answers in the max run`,
  );
  if (storedAfterMax < answered2xx)
    throw new Error(`lost events: ${answered2xx} answered 2xx, ${storedAfterMax} stored`);

  const dir = process.env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tracker.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
