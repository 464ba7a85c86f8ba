import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { freePort } from '@pushtech/devstack';
import { eventually, testInfra, testRedis, type TestRedis } from '@pushtech/devstack/testing';
import { request, type Response } from './helpers.js';
import { WORKERS_START_MS, children, spawnTracker, waitForWorkers, type TrackerProcess } from './tracker-process.js';

// A new connection per request: SO_REUSEPORT spreads connections, not requests, over workers.
const fresh = (): http.Agent => new http.Agent({ keepAlive: false });

/** A tracker of two workers under their supervisor, both listening with Redis ready. */
async function twoWorkers(
  t: TestContext,
): Promise<{ tracker: TrackerProcess; port: number; redis: TestRedis; key: string; workers: number[] }> {
  const redis = await testRedis(t);
  const key = redis.key('hits');
  const port = await freePort();
  const tracker = spawnTracker({
    REDIS_URL: (await testInfra()).redisUrl,
    REDIS_QUEUE_KEY: key,
    TRACKER_PORT: String(port),
    TRACKER_WORKERS: '2',
    TRACKER_MAX_QUEUE: '5000',
  });
  const supervisor = tracker.child.pid ?? assert.fail('no pid');
  t.after(() => {
    for (const pid of children(supervisor)) {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    }
    tracker.child.kill('SIGKILL');
  });
  const workers = await waitForWorkers(tracker, port, 2);
  return { tracker, port, redis, key, workers };
}

/** Sends `count` pixels, each on a connection of its own. */
async function track(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    assert.equal((await request(port, 'GET', `/t/w?i=${i}`, { agent: fresh() })).status, 204);
  }
}

/**
 * GET /metrics on a fresh connection. `hangAfterMs` guards against a scrape that never answers
 * (it is not a latency bound: the supervisor's own timeout is 3 s).
 */
function scrape(port: number, hangAfterMs = 15_000): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    request(port, 'GET', '/metrics', { agent: fresh() }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`/metrics did not answer in ${hangAfterMs} ms`)), hangAfterMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Exposition {
  /** Sample value by series, e.g. `pushtech_tracker_events_stored_total{service="tracker"}`. */
  readonly samples: Map<string, number>;
  /** # TYPE by metric family. */
  readonly types: Map<string, string>;
  value(series: string): number;
}

/**
 * Parses Prometheus text: every line is a HELP, a TYPE or a sample of a declared family, no
 * series twice; and promtool (Debian's prometheus) parses it too (its lint remarks on the
 * default process metrics' names, exit 3, are not parse errors: exit 1 is).
 */
function parseExposition(text: string): Exposition {
  const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.ok(
    checked.status === 0 || checked.status === 3,
    `promtool check metrics: exit ${checked.status}\n${checked.stdout}${checked.stderr}`,
  );
  assert.doesNotMatch(`${checked.stdout}${checked.stderr}`, /error/i);
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(
    `^(${name})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\]|\\\\.)*",?)*\\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$`,
  );
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      assert.ok(!types.has(type[1] ?? ''), `TYPE of ${type[1]} twice`);
      types.set(type[1] ?? '', type[2] ?? '');
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const match = sample.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const [, metric = '', labels = ''] = match;
    const family = types.has(metric) ? metric : metric.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `sample of an undeclared family: ${line}`);
    const series = `${metric}${labels}`;
    assert.ok(!samples.has(series), `series twice: ${series}`);
    samples.set(series, Number(match[3]?.replace('Inf', 'Infinity')));
  }
  return {
    samples,
    types,
    value(series) {
      const v = samples.get(series);
      assert.ok(v !== undefined, `no sample ${series} in\n${text}`);
      return v;
    },
  };
}

const TRACKER = '{service="tracker"}';

describe('tracker workers: /metrics', () => {
  it('any worker serves the metrics of all workers, summed: every scrape counts every event', async (t) => {
    const { port, redis, key } = await twoWorkers(t);
    const events = 60;
    await track(port, events);
    assert.equal(await redis.client.llen(key), events);

    for (let i = 0; i < 8; i += 1) {
      const response = await scrape(port);
      assert.equal(response.status, 200, response.text);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const m = parseExposition(response.text);
      assert.equal(m.value(`pushtech_tracker_events_stored_total${TRACKER}`), events, `scrape ${i}`);
      assert.equal(m.value('pushtech_tracker_requests_total{route="track",status="204",service="tracker"}'), events);
      assert.equal(m.value(`pushtech_tracker_push_batch_events_sum${TRACKER}`), events);
      assert.equal(m.types.get('pushtech_tracker_push_batch_events'), 'histogram');
      // Gauges: one list, one setting, all workers ready: not doubled.
      assert.equal(m.value(`pushtech_tracker_queue_length${TRACKER}`), events);
      assert.equal(m.value(`pushtech_tracker_max_queue${TRACKER}`), 5000);
      assert.equal(m.value(`pushtech_ready${TRACKER}`), 1);
      assert.equal(m.value(`pushtech_tracker_in_flight_requests${TRACKER}`), 0);
      assert.equal(m.value(`pushtech_tracker_workers${TRACKER}`), 2);
      assert.equal(m.value(`pushtech_tracker_metrics_workers_missing${TRACKER}`), 0);
      // Process metrics as prom-client aggregates them: the start time is omitted, not summed.
      assert.ok(m.value(`pushtech_process_cpu_seconds_total${TRACKER}`) > 0);
      assert.ok(!m.types.has('pushtech_process_start_time_seconds'));
    }
  });

  it('a worker killed with SIGKILL does not hold up a scrape; its replacement is counted again', async (t) => {
    const { tracker, port, workers } = await twoWorkers(t);
    await track(port, 20);
    const victim = workers[0] ?? assert.fail('no worker');
    process.kill(victim, 'SIGKILL');
    // Scrapes right after the kill: the live worker answers (a connection the dead socket had
    // queued is reset: another one is tried), with one or two workers counted.
    for (let i = 0; i < 5; i += 1) {
      const response = await eventually('a scrape answered', () => scrape(port).catch(() => undefined), 20_000);
      assert.equal(response.status, 200, response.text);
      const m = parseExposition(response.text);
      assert.ok([1, 2].includes(m.value(`pushtech_tracker_workers${TRACKER}`)));
      assert.ok(m.value(`pushtech_tracker_events_stored_total${TRACKER}`) <= 20);
    }
    const supervisor = tracker.child.pid ?? assert.fail('no pid');
    await eventually(
      'a replacement worker',
      () => (children(supervisor).length === 2 && !children(supervisor).includes(victim) ? true : undefined),
      20_000,
    );
    await eventually(
      'both workers scraped again',
      async () => {
        const response = await scrape(port).catch(() => undefined);
        if (response?.status !== 200) return undefined;
        const m = parseExposition(response.text);
        return m.value(`pushtech_tracker_workers${TRACKER}`) === 2 &&
          m.value(`pushtech_tracker_metrics_workers_missing${TRACKER}`) === 0
          ? true
          : undefined;
      },
      WORKERS_START_MS,
    );
  });

  it('a worker that does not answer is left out after the timeout and counted missing', async (t) => {
    const { port, workers } = await twoWorkers(t);
    await track(port, 20);
    const stopped = workers[0] ?? assert.fail('no worker');
    process.kill(stopped, 'SIGSTOP');
    t.after(() => {
      // The tracker's own cleanup may have ended the worker already (a CI run: kill ESRCH).
      try {
        process.kill(stopped, 'SIGCONT');
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    });
    // A connection the stopped worker accepted gets no answer: the next one is tried. The kernel
    // hands each new connection to either worker at random, so a try reaches the stopped one
    // with odds of one in two: 40 s of 8 s tries failed a CI run (five in a row, 1 in 32).
    // 120 s of 10 s tries (the live worker answers after the supervisor's 3 s timeout, slower on
    // a loaded machine) leave odds of about 1 in 4,000.
    const response = await eventually(
      'a scrape answered by the live worker',
      () => scrape(port, 10_000).catch(() => undefined),
      120_000,
    );
    assert.equal(response.status, 200, response.text);
    const m = parseExposition(response.text);
    assert.equal(m.value(`pushtech_tracker_metrics_workers_missing${TRACKER}`), 1);
    assert.equal(m.value(`pushtech_tracker_workers${TRACKER}`), 2);
    assert.ok(m.value(`pushtech_tracker_events_stored_total${TRACKER}`) < 20, 'only the live worker counted');
  });
});
