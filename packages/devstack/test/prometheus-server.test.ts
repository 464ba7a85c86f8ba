import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventually } from '../src/testing.js';
import { isAlive } from '../src/leftovers.js';
import { freePort, isListening } from '../src/ports.js';
import { prometheusConfig, startLocalPrometheus, startPrometheusServer } from '../src/prometheus-server.js';

interface QueryAnswer {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function instant(url: string, query: string): Promise<QueryAnswer['data']['result']> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as QueryAnswer;
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

/** A stand-in service: /metrics answers a counter that grows by one per scrape. */
async function fakeService(t: { after(fn: () => Promise<void>): void }): Promise<number> {
  let scrapes = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    scrapes += 1;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE pushtech_fake_scrapes_total counter\npushtech_fake_scrapes_total{service="fake"} ${scrapes}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

describe('local Prometheus (devstack)', () => {
  it('writes a config with the jobs, the rules and the interval', () => {
    const text = prometheusConfig({
      jobs: [{ job: 'pushtech-tracker', targets: ['127.0.0.1:8380'] }],
      ruleFiles: ['/repo/monitoring/alerts.yml'],
      scrapeIntervalSeconds: 15,
    });
    assert.match(text, /^ {2}scrape_interval: 15s$/m);
    assert.match(text, /^ {2}- job_name: "pushtech-tracker"$/m);
    assert.match(text, /^ {6}- targets: \["127\.0\.0\.1:8380"\]$/m);
    assert.match(text, /^rule_files:\n {2}- "\/repo\/monitoring\/alerts\.yml"$/m);
  });

  it('starts, scrapes a target, loads the rules, stops and leaves no process behind', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devstack-prometheus-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const target = await fakeService(t);
    const rules = path.join(dir, 'rules.yml');
    writeFileSync(
      rules,
      'groups:\n  - name: fake\n    rules:\n      - alert: FakeScraped\n        expr: pushtech_fake_scrapes_total > 0\n',
    );
    const port = await freePort();
    const prometheus = await startPrometheusServer({
      port,
      dir: path.join(dir, 'prometheus'),
      jobs: [{ job: 'pushtech-fake', targets: [`127.0.0.1:${target}`] }],
      ruleFiles: [rules, path.join(dir, 'missing.yml')],
      scrapeIntervalSeconds: 1,
    });
    t.after(() => prometheus.stop());
    assert.equal(prometheus.url, `http://127.0.0.1:${port}`);
    assert.doesNotMatch(
      readFileSync(prometheus.configFile, 'utf8'),
      /missing\.yml/,
      'a missing rules file is left out',
    );

    const scraped = await eventually(
      'two scrapes of the fake service',
      async () => {
        const [sample] = await instant(prometheus.url, 'pushtech_fake_scrapes_total{job="pushtech-fake"}');
        return sample && Number(sample.value[1]) >= 2 ? sample : undefined;
      },
      30_000,
    );
    assert.equal(scraped.metric['instance'], `127.0.0.1:${target}`);
    const [up] = await instant(prometheus.url, 'up{job="pushtech-fake"}');
    assert.equal(up?.value[1], '1');
    await eventually(
      'the rule from the rules file fires',
      async () => ((await instant(prometheus.url, 'ALERTS{alertname="FakeScraped"}')).length > 0 ? true : undefined),
      30_000,
    );
    assert.ok(existsSync(path.join(dir, 'prometheus', 'data')), 'its TSDB is in its folder');

    await prometheus.stop();
    assert.equal(isAlive(prometheus.process.pid), false, 'the Prometheus process is gone');
    assert.equal(await isListening(port), false, `port ${port} is free again`);
  });

  it('without the binary: no Prometheus, and a message naming the Debian package', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devstack-prometheus-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const server = await startLocalPrometheus({
      stateDir: dir,
      port: await freePort(),
      jobs: [],
      scrapeIntervalSeconds: 15,
      // An empty folder: no prometheus binary there.
      pathVar: mkdtempSync(path.join(dir, 'bin-')),
      log: (line) => lines.push(line),
    });
    assert.equal(server, undefined);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] ?? '', /^Prometheus not started: prometheus is not installed .*apt-get install prometheus/);
  });

  it("npm start's Prometheus records its pid and forgets it once stopped", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devstack-prometheus-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const server = await startLocalPrometheus({
      stateDir: dir,
      port: await freePort(),
      jobs: [],
      scrapeIntervalSeconds: 15,
      log: (line) => lines.push(line),
    });
    assert.ok(server, lines.join('\n'));
    t.after(() => server.stop());
    const pids = path.join(dir, 'prometheus', 'pids.json');
    assert.deepEqual((JSON.parse(readFileSync(pids, 'utf8')) as { processes: unknown }).processes, [
      { name: 'prometheus', pid: server.process.pid },
    ]);
    await server.stop();
    assert.equal(existsSync(pids), false);
    assert.equal(isAlive(server.process.pid), false);
    assert.deepEqual(lines, [], 'a requested stop is not reported as an unexpected exit');
  });
});
