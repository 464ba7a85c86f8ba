/**
 * Tracker benchmark: the same wrk load (keep-alive, 1 thread, 100 connections), in rounds, each
 * round running one after the other
 *   1. a bare uWebSockets.js server that only answers (the ceiling),
 *   2. the tracker (stores every event in Redis before answering),
 *   3. the write path alone: bare uWebSockets.js + one LPUSH per loop turn,
 *   4. and 5. the bare server and the tracker with two processes each on one port;
 * req/s are the medians of the rounds and ratios the medians of each round's own ratio (the
 * shared machine drifts more between minutes than between neighbouring runs). Then the tracker
 * at half its median maximum for latency (wrk paced by bench/paced.lua: Poisson arrivals), the
 * bare server and the write path at that same rate (the floors), a node:http + ioredis tracker
 * doing the same work (one LPUSH per request), and the tracker's memory. Every tracker run is
 * checked: Redis must have gained an entry for every 2xx answer.
 * Prints a table and writes JSON to $PUSHTECH_BENCH_RESULTS/tracker.json.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '@pushtech/devstack';
import { benchNumber, benchStack, machineInfo, median, writeResult } from '@pushtech/bench';

const here = path.dirname(fileURLToPath(import.meta.url));
const serviceDir = path.resolve(here, '..');
const seconds = benchNumber('BENCH_SECONDS', 8);
const rounds = benchNumber('BENCH_ROUNDS', 3);
const CONNECTIONS = 100;
const target = '/t/app_open?deviceid=3f1c9a7e-55b1-4c1e-9d0a-8f4e2b6a1c33&ts=1763880000000&referrer=website';
const userAgent =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

interface Server {
  readonly children: readonly ChildProcess[];
  readonly port: number;
}

interface StartOptions {
  /** Processes to spawn (each listens on the same port: uWebSockets.js sets SO_REUSEPORT). */
  readonly spawn?: number;
  /** Lines on stdout that say a process listens, and how many to wait for. */
  readonly listening: RegExp;
  readonly listeners: number;
  /** A tracker: wait until /readyz says 200 (Redis connected). */
  readonly needReady?: boolean;
}

/**
 * Started once every process said it listens (so that wrk's connections spread over all of
 * them), and a tracker only once /readyz says 200.
 */
async function startServer(args: string[], env: Record<string, string>, options: StartOptions): Promise<Server> {
  const port = await freePort();
  let listening = 0;
  const children: ChildProcess[] = [];
  for (let i = 0; i < (options.spawn ?? 1); i += 1) {
    const child = spawn(process.execPath, args, {
      cwd: serviceDir,
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        TRACKER_PORT: String(port),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      if (options.listening.test(line)) listening += 1;
    });
    children.push(child);
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (listening >= options.listeners) {
      if (!options.needReady) break;
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) throw new Error(`server ${args.join(' ')} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { children, port };
}

/** Runs `run` against a server started by `starting`, and stops the server however `run` ends. */
async function withServer<T>(starting: Promise<Server>, run: (server: Server) => Promise<T>): Promise<T> {
  const server = await starting;
  try {
    return await run(server);
  } finally {
    await stopServer(server);
  }
}

async function stopServer(server: Server): Promise<void> {
  await Promise.all(
    server.children.map((child) => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      return exited;
    }),
  );
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

/** One round: every server at full speed, one after the other, so that each round's ratios compare neighbours. */
interface Round {
  readonly bare: WrkResult;
  readonly tracker: WrkResult & { readonly stored: number; readonly rssMiB: number };
  readonly writePath: WrkResult;
  readonly bareTwo: WrkResult;
  readonly trackerTwo: WrkResult & { readonly stored: number };
}

async function main(): Promise<void> {
  const stack = await benchStack();
  const { redisUrl } = stack;
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
  const trackerEnv = (workers: number): Record<string, string> => ({
    REDIS_URL: redisUrl,
    REDIS_QUEUE_KEY: trackerKey,
    TRACKER_WORKERS: String(workers),
    TRACKER_HOST: '127.0.0.1',
    TRACKER_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
    NODE_ENV: 'production',
  });
  const printed = /^listening \d+$/;
  const trackerListening = /"msg":"tracker listening"/;
  const startBare = (processes: number): Promise<Server> =>
    startServer([...tsx, 'bench/bare-uws.ts'], {}, { spawn: processes, listening: printed, listeners: processes });
  const startTracker = (workers: number): Promise<Server> =>
    startServer(trackerArgs, trackerEnv(workers), { listening: trackerListening, listeners: workers, needReady: true });
  const startWritePath = (): Promise<Server> =>
    startServer(
      [...tsx, 'bench/bare-uws-redis.ts'],
      { REDIS_URL: redisUrl, REDIS_QUEUE_KEY: writePathKey },
      { listening: printed, listeners: 1 },
    );
  /** A tracker run at full speed, checked: Redis must have gained an entry for every 2xx. */
  const trackerRun = async (server: Server): Promise<WrkResult & { stored: number }> => {
    const before = await redis.llen(trackerKey);
    const result = await wrk(server.port);
    const stored = (await redis.llen(trackerKey)) - before;
    const answered = result.requests - result.non2xx;
    if (stored < answered) throw new Error(`lost events: ${answered} answered 2xx, ${stored} stored`);
    await redis.del(trackerKey);
    return { ...result, stored };
  };
  const fullSpeed = (server: Server): Promise<WrkResult> => wrk(server.port);

  console.log(
    `tracker benchmark: ${rounds} rounds of wrk -t1 -c100 -d${seconds}s, keep-alive, ${built ? 'built tracker (dist)' : 'tracker via tsx'}`,
  );

  const done: Round[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const bare = await withServer(startBare(1), fullSpeed);
    const tracker = await withServer(startTracker(1), async (server) => ({
      ...(await trackerRun(server)),
      rssMiB: memoryMiB(server.children[0]?.pid ?? 0).rss,
    }));
    // The floor of storing before answering: uWS and one LPUSH per loop turn, nothing else.
    const writePath = await withServer(startWritePath(), fullSpeed);
    await redis.del(writePathKey);
    // Two processes each, on one port: TRACKER_WORKERS' default (one per core) on this machine.
    const bareTwo = await withServer(startBare(2), fullSpeed);
    const trackerTwo = await withServer(startTracker(2), trackerRun);
    done.push({ bare, tracker, writePath, bareTwo, trackerTwo });
    console.log(
      `round ${round + 1}: bare ${Math.round(bare.requestsPerSecond)}, tracker ${Math.round(tracker.requestsPerSecond)} (${(tracker.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}x), write path ${Math.round(writePath.requestsPerSecond)}; two processes: bare ${Math.round(bareTwo.requestsPerSecond)}, tracker ${Math.round(trackerTwo.requestsPerSecond)} (${(trackerTwo.requestsPerSecond / bareTwo.requestsPerSecond).toFixed(2)}x) req/s`,
    );
  }
  const med = (pick: (r: Round) => number): number => median(done.map(pick));
  const bareRate = med((r) => r.bare.requestsPerSecond);
  const trackerRate = med((r) => r.tracker.requestsPerSecond);
  const writePathRate = med((r) => r.writePath.requestsPerSecond);
  const bareTwoRate = med((r) => r.bareTwo.requestsPerSecond);
  const trackerTwoRate = med((r) => r.trackerTwo.requestsPerSecond);
  const ratio = med((r) => r.tracker.requestsPerSecond / r.bare.requestsPerSecond);
  const ratioTwo = med((r) => r.trackerTwo.requestsPerSecond / r.bareTwo.requestsPerSecond);
  const writePathRatio = med((r) => r.writePath.requestsPerSecond / r.bare.requestsPerSecond);

  // Latency at half the tracker's (median) maximum, and the two floors at that same rate: the
  // bare server (the load generator and the machine) and the write path (storing before answering).
  const halfRate = Math.round(trackerRate / 2);
  const halfSpeed = (server: Server): Promise<WrkResult> => atRate(server.port, halfRate);
  const { half, memory } = await withServer(startTracker(1), async (server) => ({
    half: await halfSpeed(server),
    memory: memoryMiB(server.children[0]?.pid ?? 0),
  }));
  await redis.del(trackerKey);
  const bareHalf = await withServer(startBare(1), halfSpeed);
  const writePathHalf = await withServer(startWritePath(), halfSpeed);
  const rssMiB = Math.max(memory.rss, ...done.map((r) => r.tracker.rssMiB));

  const nodeResult = await withServer(
    startServer(
      [...tsx, 'bench/node-http-tracker.ts'],
      { REDIS_URL: redisUrl, REDIS_QUEUE_KEY: nodeKey },
      { listening: printed, listeners: 1 },
    ),
    fullSpeed,
  );
  await redis.del(trackerKey, nodeKey, writePathKey);
  redis.disconnect();

  const latency = (r: WrkResult) => ({
    achievedRate: r.requestsPerSecond,
    p50ms: r.p50ms,
    p99ms: r.p99ms,
    non2xx: r.non2xx,
  });
  const result = {
    date: new Date().toISOString(),
    seconds,
    rounds: done,
    machine: machineInfo(),
    medians: {
      bareUws: bareRate,
      tracker: trackerRate,
      bareUwsRedis: writePathRate,
      bareUwsTwoProcesses: bareTwoRate,
      trackerTwoWorkers: trackerTwoRate,
    },
    ratios: { trackerVsBare: ratio, trackerVsBareTwoProcesses: ratioTwo, writePathVsBare: writePathRatio },
    halfRate: {
      targetRate: halfRate,
      tracker: latency(half),
      bareUws: latency(bareHalf),
      bareUwsRedis: latency(writePathHalf),
    },
    nodeHttpIoredis: nodeResult,
    trackerMemoryMiB: { rss: rssMiB, peakOfLatencyRun: memory.peak },
    summary: {
      bench: 'tracker',
      title: 'Tracker: pixels into Redis (wrk, keep-alive)',
      rows: [
        { name: 'bare uWebSockets.js, answers only', metric: 'req/s', value: Math.round(bareRate), baseline: true },
        { name: 'tracker, stores every event', metric: 'req/s', value: Math.round(trackerRate) },
        {
          name: 'bare uWebSockets.js + one LPUSH per loop turn, nothing else',
          metric: 'req/s',
          value: Math.round(writePathRate),
        },
        { name: 'bare uWebSockets.js, two processes on one port', metric: 'req/s', value: Math.round(bareTwoRate) },
        { name: 'tracker, TRACKER_WORKERS=2 (one per core)', metric: 'req/s', value: Math.round(trackerTwoRate) },
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
        { name: 'tracker RSS, largest after any run', metric: 'MiB', value: Math.round(rssMiB) },
      ],
      goals: [
        {
          goal: 'tracker >= 0.6x the bare server',
          value: `${ratio.toFixed(2)}x`,
          met: ratio >= 0.6,
        },
        { goal: 'p99 < 5 ms at half that rate', value: `${half.p99ms} ms`, met: half.p99ms < 5 },
        { goal: 'RSS < 150 MiB', value: `${rssMiB.toFixed(0)} MiB`, met: rssMiB < 150 },
      ],
      notes: [
        `req/s are medians of ${rounds} rounds; each round runs every server once, one after the other, and the ratio is the median of the rounds' own ratios`,
        `every 2xx stored, checked in every run: ${done.map((r) => `${r.tracker.stored} entries for ${r.tracker.requests - r.tracker.non2xx}`).join(', ')} 2xx answers (one process)`,
        `two processes each: tracker ${ratioTwo.toFixed(2)}x the bare pair; the write path alone ${writePathRatio.toFixed(2)}x the bare server`,
        'the half-rate runs pace each connection with exponential pauses (bench/paced.lua): Poisson arrivals, as from many independent clients',
        'the load generator (wrk, one thread) shares the 2 cores with the server and Redis',
        'the tracker trusts 127.0.0.1 as a proxy, so it checks the peer of every request as behind a load balancer',
      ],
    },
  };

  const row = (name: string, rate: number, ofBare: number): string =>
    `| ${name.padEnd(36)} | ${Math.round(rate).toString().padStart(8)} | ${ofBare.toFixed(2).padStart(5)}x |`;
  console.log(`medians of ${rounds} rounds:`);
  console.log('| server                               |    req/s | ratio  |');
  console.log('|--------------------------------------|----------|--------|');
  console.log(row('bare uWebSockets.js (ceiling)', bareRate, 1));
  console.log(row('tracker (stores in Redis)', trackerRate, ratio));
  console.log(row('bare uWS + LPUSH (write path)', writePathRate, writePathRatio));
  console.log(row('bare uWebSockets.js, two processes', bareTwoRate, 1));
  console.log(row('tracker, two workers', trackerTwoRate, ratioTwo));
  console.log(row('node:http + ioredis', nodeResult.requestsPerSecond, nodeResult.requestsPerSecond / bareRate));
  for (const [name, r] of [
    ['tracker', half],
    ['bare uWebSockets.js (the floor of this measurement)', bareHalf],
    ['bare uWebSockets.js + LPUSH (the floor of storing before answering)', writePathHalf],
  ] as const) {
    console.log(
      `${name} at ${halfRate}/s asked, ${Math.round(r.requestsPerSecond)}/s done (paced wrk): p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, non2xx ${r.non2xx}`,
    );
  }
  console.log(
    `tracker memory: RSS ${rssMiB.toFixed(0)} MiB (largest after any run), peak ${memory.peak.toFixed(0)} MiB`,
  );

  console.log(`results in ${writeResult('tracker', result)}`);
  redis.disconnect();
  await stack.stop();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
