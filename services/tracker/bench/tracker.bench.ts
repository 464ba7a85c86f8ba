/**
 * Tracker benchmark: the same wrk load (keep-alive, 1 thread, 100 connections) against
 *   1. a bare uWebSockets.js server that only answers (the ceiling),
 *   2. the tracker (stores every event in Redis before answering),
 *   3. a node:http + ioredis tracker doing the same work, one LPUSH per request;
 * then the tracker at half its measured maximum (autocannon, fixed rate) for latency, the bare
 * server at that same rate (what the load generator and machine alone add), and the tracker's
 * memory. Every tracker run is checked: Redis must hold as many events as were answered 2xx.
 * Prints a table and writes JSON to $PUSHTECH_BENCH_RESULTS/tracker.json.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { freePort, repoRoot } from '@pushtech/devstack';
import { testInfra } from '@pushtech/devstack/testing';

const here = path.dirname(fileURLToPath(import.meta.url));
const serviceDir = path.resolve(here, '..');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
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

async function wrk(port: number): Promise<WrkResult> {
  const { stdout } = await promisify(execFile)('wrk', [
    '-t1',
    '-c100',
    `-d${seconds}s`,
    '--latency',
    '-H',
    `User-Agent: ${userAgent}`,
    `http://127.0.0.1:${port}${target}`,
  ]);
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    p50ms: toMs(/^\s+50%\s+(\S+)$/m.exec(stdout)?.[1] ?? ''),
    p99ms: toMs(/^\s+99%\s+(\S+)$/m.exec(stdout)?.[1] ?? ''),
  };
}

function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** autocannon at a fixed overall rate (50 connections, keep-alive), for latency. */
function fixedRate(port: number, rate: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}${target}`,
    connections: 50,
    duration: seconds,
    overallRate: rate,
    headers: { 'user-agent': userAgent },
  });
}

async function main(): Promise<void> {
  const { redisUrl } = await testInfra();
  const redis = new Redis(redisUrl);
  const trackerKey = `bench:tracker:${process.pid}`;
  const nodeKey = `bench:node-http:${process.pid}`;
  await redis.del(trackerKey, nodeKey);
  const built = existsSync(path.join(serviceDir, 'dist', 'main.js'));
  const trackerArgs = built ? ['dist/main.js'] : ['--conditions=development', '--import', 'tsx', 'src/main.ts'];
  const tsx = ['--conditions=development', '--import', 'tsx'];
  const env = { REDIS_URL: redisUrl, TRACKER_WORKERS: '1', TRACKER_HOST: '127.0.0.1', NODE_ENV: 'production' };

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
  const half = await fixedRate(tracker.port, halfRate);
  const memory = memoryMiB(tracker.child.pid ?? 0);
  const storedTotal = await redis.llen(trackerKey);
  await stopServer(tracker);

  // The floor of that latency on this machine: the bare server under the same load generator
  // at the same rate (autocannon is a Node process sharing the 2 cores).
  const bareAgain = await startServer([...tsx, 'bench/bare-uws.ts'], {});
  const bareHalf = await fixedRate(bareAgain.port, halfRate);
  await stopServer(bareAgain);

  const nodeHttp = await startServer([...tsx, 'bench/node-http-tracker.ts'], {
    REDIS_URL: redisUrl,
    REDIS_QUEUE_KEY: nodeKey,
  });
  const nodeResult = await wrk(nodeHttp.port);
  await stopServer(nodeHttp);
  await redis.del(trackerKey, nodeKey);
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
      achievedRate: half.requests.average,
      p50ms: half.latency.p50,
      p99ms: half.latency.p99,
      non2xx: half.non2xx,
      errors: half.errors,
    },
    bareUwsHalfRate: {
      achievedRate: bareHalf.requests.average,
      p50ms: bareHalf.latency.p50,
      p99ms: bareHalf.latency.p99,
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
        { name: 'node:http + ioredis, same work', metric: 'req/s', value: Math.round(nodeResult.requestsPerSecond) },
        { name: `tracker at ${halfRate}/s p50`, metric: 'ms at half rate', value: half.latency.p50 },
        { name: `tracker at ${halfRate}/s p99`, metric: 'ms at half rate', value: half.latency.p99 },
        {
          name: `bare uWebSockets.js at ${halfRate}/s p99 (the same load generator's floor)`,
          metric: 'ms at half rate',
          value: bareHalf.latency.p99,
        },
        { name: 'tracker RSS after the runs', metric: 'MiB', value: Math.round(memory.rss) },
      ],
      goals: [
        {
          goal: 'tracker >= 0.6x the bare server',
          value: `${(trackerResult.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2)}x`,
          met: trackerResult.requestsPerSecond >= 0.6 * bareResult.requestsPerSecond,
        },
        { goal: 'p99 < 5 ms at half that rate', value: `${half.latency.p99} ms`, met: half.latency.p99 < 5 },
        { goal: 'RSS < 150 MiB', value: `${memory.rss.toFixed(0)} MiB`, met: memory.rss < 150 },
      ],
      notes: [
        `every 2xx stored: ${storedAfterMax} entries in Redis for ${answered2xx} 2xx answers in the max run`,
        'the load generator (wrk, one thread) shares the 2 cores with the server and Redis',
      ],
    },
  };

  const row = (name: string, r: { requestsPerSecond: number; p50ms: number; p99ms: number; non2xx: number }): string =>
    `| ${name.padEnd(28)} | ${Math.round(r.requestsPerSecond).toString().padStart(8)} | ${r.p50ms.toFixed(2).padStart(7)} | ${r.p99ms.toFixed(2).padStart(7)} | ${String(r.non2xx).padStart(6)} |`;
  console.log('| server                       |    req/s | p50 ms  | p99 ms  | non2xx |');
  console.log('|------------------------------|----------|---------|---------|--------|');
  console.log(row('bare uWebSockets.js (ceiling)', bareResult));
  console.log(row('tracker (stores in Redis)', trackerResult));
  console.log(row('node:http + ioredis', nodeResult));
  console.log(
    `tracker at half rate (${halfRate}/s, autocannon): p50 ${half.latency.p50} ms, p99 ${half.latency.p99} ms, non2xx ${half.non2xx}, errors ${half.errors}`,
  );
  console.log(
    `bare uWebSockets.js at the same rate: p50 ${bareHalf.latency.p50} ms, p99 ${bareHalf.latency.p99} ms (the floor of this measurement)`,
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
