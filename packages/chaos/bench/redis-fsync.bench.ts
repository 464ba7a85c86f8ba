/**
 * What `appendfsync always` costs the tracker, against the `everysec` it replaced (issue 19,
 * finding 4): a chaos pod (tracker with one worker and its own Redis, AOF on this machine's
 * disk) per setting, in rounds that alternate the order; per run the tracker's maximum (wrk
 * -t1 -c100, keep-alive) and its latency at a set rate (the load generator, measured from each
 * request's scheduled time). Prints a table and writes JSON to
 * $PUSHTECH_BENCH_RESULTS/redis-fsync.json. Every run is checked: no 2xx without its entry.
 *
 * BENCH_SECONDS (6), BENCH_ROUNDS (3), BENCH_RATE (2000 events/s).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type AppendFsync } from '@pushtech/devstack';
import { benchNumber, median, writeResult } from '@pushtech/bench';
import { runLoad } from '@pushtech/loadgen';
import { Pod } from '../src/pod.js';
import { entriesIn } from '../src/redis-command.js';
import { Scope } from '../src/scope.js';

const seconds = benchNumber('BENCH_SECONDS', 6);
const rounds = benchNumber('BENCH_ROUNDS', 3);
const rate = benchNumber('BENCH_RATE', 2000);
const target = '/t/app_open?deviceid=3f1c9a7e-55b1-4c1e-9d0a-8f4e2b6a1c33&ts=1763880000000&referrer=website';

interface Run {
  readonly appendFsync: AppendFsync;
  readonly round: number;
  readonly maxPerSecond: number;
  readonly maxP99Ms: number;
  readonly atRate: { readonly asked: number; readonly p50Ms: number; readonly p99Ms: number; readonly acked: number };
}

async function wrk(url: string): Promise<{ perSecond: number; p99Ms: number; answered2xx: number }> {
  const { stdout } = await promisify(execFile)('wrk', [
    '-t1',
    '-c100',
    `-d${seconds}s`,
    '--latency',
    `${url}${target}`,
  ]);
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(stdout);
  const scale = p99?.[2] === 'us' ? 1 / 1000 : p99?.[2] === 's' ? 1000 : 1;
  return {
    perSecond: num(/Requests\/sec:\s+([\d.]+)/),
    p99Ms: Number(p99?.[1] ?? NaN) * scale,
    answered2xx: num(/(\d+) requests in/) - num(/Non-2xx or 3xx responses:\s+(\d+)/),
  };
}

async function measure(appendFsync: AppendFsync, round: number, workDir: string): Promise<Run> {
  const scope = new Scope();
  const dir = mkdtempSync(path.join(workDir, `${appendFsync}-`));
  scope.defer('folder', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const pod = await Pod.start(
      {
        dir,
        brokers: '127.0.0.1:9', // no kafkastore: the pod is only tracker and Redis
        topics: { topic: 'unused', deadLetterTopic: 'unused' },
        withKafkastore: false,
        redisAppendFsync: appendFsync,
      },
      scope,
    );
    const full = await wrk(pod.trackerUrl);
    const stored = (await entriesIn(pod.redisUrl, [pod.queueKeys[0]])) ?? 0;
    if (stored < full.answered2xx)
      throw new Error(`${appendFsync}: ${full.answered2xx} answered 2xx, ${stored} stored`);
    const paced = await runLoad({ target: pod.trackerUrl, rate, durationSeconds: seconds, connections: 256 });
    return {
      appendFsync,
      round,
      maxPerSecond: Math.round(full.perSecond),
      maxP99Ms: full.p99Ms,
      atRate: {
        asked: rate,
        p50Ms: paced.latency.percentile(50),
        p99Ms: paced.latency.percentile(99),
        acked: paced.acknowledged,
      },
    };
  } finally {
    await scope.close((line) => console.error(line));
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'pushtech-fsync-bench-'));
  const runs: Run[] = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      const order: AppendFsync[] = round % 2 === 0 ? ['everysec', 'always'] : ['always', 'everysec'];
      for (const appendFsync of order) {
        const run = await measure(appendFsync, round, workDir);
        runs.push(run);
        console.log(
          `round ${round + 1} ${appendFsync.padEnd(8)} max ${run.maxPerSecond}/s (p99 ${run.maxP99Ms.toFixed(2)} ms); ` +
            `at ${rate}/s p50 ${run.atRate.p50Ms.toFixed(2)} ms p99 ${run.atRate.p99Ms.toFixed(2)} ms`,
        );
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const of = (fsync: AppendFsync, pick: (r: Run) => number): { median: number; min: number; max: number } => {
    const values = runs.filter((r) => r.appendFsync === fsync).map(pick);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  const ratios = Array.from({ length: rounds }, (_, round) => {
    const max = (fsync: AppendFsync): number =>
      runs.find((r) => r.round === round && r.appendFsync === fsync)?.maxPerSecond ?? NaN;
    return max('always') / max('everysec');
  });
  const rows = (['everysec', 'always'] as const).map((fsync) => ({
    fsync,
    max: of(fsync, (r) => r.maxPerSecond),
    maxP99: of(fsync, (r) => r.maxP99Ms),
    p50: of(fsync, (r) => r.atRate.p50Ms),
    p99: of(fsync, (r) => r.atRate.p99Ms),
  }));
  const range = (v: { median: number; min: number; max: number }, digits = 0): string =>
    `${v.median.toFixed(digits)} (${v.min.toFixed(digits)}-${v.max.toFixed(digits)})`;
  console.log(`\ntracker + Redis, ${rounds} rounds, ${seconds} s each; median (min-max)`);
  console.log(`appendfsync | max req/s           | p99 at max ms    | p50 at ${rate}/s ms | p99 at ${rate}/s ms`);
  for (const r of rows) {
    console.log(
      `${r.fsync.padEnd(11)} | ${range(r.max).padEnd(19)} | ${range(r.maxP99, 2).padEnd(16)} | ${range(r.p50, 2).padEnd(17)} | ${range(r.p99, 2)}`,
    );
  }
  console.log(`always / everysec, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
  const summary = {
    bench: 'redis-fsync',
    title: 'appendfsync always against everysec: the tracker and its Redis (a chaos pod)',
    rows: rows.flatMap((r) => [
      {
        name: `appendfsync ${r.fsync}`,
        metric: 'tracker max req/s (median)',
        value: r.max.median,
        baseline: r.fsync === 'everysec',
      },
      {
        name: `appendfsync ${r.fsync}`,
        metric: `ms p99 at ${rate}/s (median)`,
        value: r.p99.median,
        baseline: r.fsync === 'everysec',
      },
    ]),
    notes: [
      `${rounds} rounds of ${seconds} s per setting, alternating the order; the maximum from wrk -t1 -c100 (keep-alive), the latency from the load generator at ${rate}/s`,
      `always / everysec per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}`,
    ],
  };
  console.log(
    `results in ${writeResult('redis-fsync', { seconds, rounds, rate, runs, fsync: rows, ratios, summary })}`,
  );
}

await main();
