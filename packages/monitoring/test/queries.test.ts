/**
 * Issue 25: a real Prometheus (the devstack's, Debian's package) scrapes the local pipeline as
 * `npm start` runs it, under load, and runs every dashboard panel's query and every alert rule's
 * expression. Each must be valid; each panel query must return data; every metric a rule reads
 * must have a series. On this healthy pipeline no critical alert fires and every target is up.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { eventually, startPrivateUp } from '@pushtech/devstack/testing';
import { runLoad } from '@pushtech/loadgen';
import { createProducer, silentLogger } from '@pushtech/runtime';
import { loadDashboards, panelQueries, substituteVariables } from '../src/dashboards.js';
import { PrometheusApi, PrometheusApiError } from '../src/prometheus-api.js';
import { declaredName, metricNames } from '../src/promql-metrics.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dashboardsDir = process.env['PUSHTECH_DASHBOARDS_DIR'] ?? path.join(repoRoot, 'monitoring/dashboards');
const rulesFile = path.join(repoRoot, 'monitoring/alerts.yml');
const SERVICES = ['tracker', 'kafkastore', 'consumers', 'kafidx'];
/** A few thousand events at a few hundred a second: the machine is shared. */
const RATE = 250;
const SECONDS = 16;
/** Grafana's $__rate_interval is at least four scrape intervals (1 s here). */
const RATE_INTERVAL = '10s';
/**
 * Metrics that get a series only when their trouble happens, which this test does not cause:
 * for them a rule's check accepts the metric's declaration (HELP/TYPE on a scraped target).
 */
const SERIES_ONLY_IN_TROUBLE = new Set(['pushtech_consumer_outage']);

describe('dashboards and alert rules against a real Prometheus scraping the pipeline (issue 25)', () => {
  it('every panel query and every rule is valid and reads data; no critical alert; every target up', async (t) => {
    const cleanups: (() => Promise<void> | void)[] = [];
    t.after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    const up = await startPrivateUp({ DEVSTACK_PROMETHEUS: 'true', DEVSTACK_PROMETHEUS_SCRAPE_SECONDS: '1' });
    cleanups.push(() => up.stop());
    const { ports, output, child } = up;
    const tail = (): string => up.tail();

    // Up: the summary names the local Prometheus with its URL.
    const prometheusUrl = `http://127.0.0.1:${ports.prometheus}`;
    await eventually(
      'devstack up printed its summary',
      () => {
        if (child.exitCode !== null) throw new Error(`devstack up exited:\n${tail()}`);
        return output.some((l) => l.startsWith('Ctrl-C stops everything')) ? true : undefined;
      },
      240_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${tail()}`);
    });
    assert.ok(
      output.some((l) => l.startsWith('  Prometheus') && l.includes(prometheusUrl)),
      `the ready summary names ${prometheusUrl}:\n${tail()}`,
    );
    const api = new PrometheusApi(prometheusUrl);

    // Load, plus one entry kafkastore cannot decode and one message the consumers cannot: the
    // dead-letter series exist only once something was dead-lettered.
    const loadStarted = Date.now();
    const buffer = new Redis(`redis://127.0.0.1:${ports.redis}`);
    cleanups.push(async () => void (await buffer.quit()));
    await buffer.lpush('pushtech:hits', 'not a raw hit');
    const producer = createProducer(
      { brokers: [`127.0.0.1:${ports.kafka}`], clientId: 'monitoring-test' },
      silentLogger(),
    );
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send('events', [{ value: 'undecodable' }]);
    const load = await runLoad({
      target: `http://127.0.0.1:${ports.tracker}`,
      rate: RATE,
      durationSeconds: SECONDS,
      batchSize: 5,
      connections: 4,
      seed: 25,
    });
    assert.equal(load.failed, 0, JSON.stringify(load.statuses));
    assert.ok(load.acknowledged > 0, JSON.stringify(load.statuses));

    // Scraped after the load: every consumer handled something and Prometheus has seen it.
    await eventually(
      'Prometheus saw every consumer handle events and both dead letters',
      async () => {
        const now = { start: Date.now() - 5_000, end: Date.now(), stepSeconds: 1 };
        const consumers = await api.queryRange('pushtech_consumer_fetches_total', now);
        const handled = await api.queryRange('pushtech_consumer_events_handled_total > 0', now);
        const dead = await api.seriesCount('pushtech_consumer_dead_lettered_total');
        const deadKs = await api.seriesCount('pushtech_kafkastore_events_dead_lettered_total');
        return consumers.length > 0 && handled.length === consumers.length && dead > 0 && deadKs > 0 ? true : undefined;
      },
      120_000,
    );
    const range = { start: loadStarted, end: Date.now(), stepSeconds: 2 };

    // Every panel query: valid, with data.
    const dashboards = loadDashboards(dashboardsDir);
    assert.ok(dashboards.size >= 5, `the overview and one dashboard per service in ${dashboardsDir}`);
    const declared = await api.metadataNames();
    const problems: string[] = [];
    let queries = 0;
    for (const [file, dashboard] of dashboards) {
      for (const query of panelQueries(file, dashboard)) {
        queries += 1;
        const expr = substituteVariables(query.expr, {
          rateInterval: RATE_INTERVAL,
          interval: '2s',
          variables: { instance: '.+', consumer: '.+', pod: '.+' },
        });
        try {
          const series = await api.queryRange(expr, range);
          if (series.length === 0) problems.push(`${query.where}: no data for ${expr}`);
        } catch (error: unknown) {
          if (!(error instanceof PrometheusApiError)) throw error;
          problems.push(`${query.where}: invalid: ${error.message}`);
          continue;
        }
        // A misspelt metric behind `or vector(0)` still returns data: each name must be declared.
        const unknown = metricNames(expr).filter((m) => !declared.has(declaredName(m)) && !declared.has(m));
        if (unknown.length > 0) problems.push(`${query.where}: no scraped target exports ${unknown.join(', ')}`);
      }
    }
    t.diagnostic(`${queries} panel queries in ${dashboards.size} dashboards`);

    // Every rule of alerts.yml, as Prometheus loaded it.
    const inFile = (readFileSync(rulesFile, 'utf8').match(/^\s*- (?:alert|record):/gm) ?? []).length;
    const rules = await eventually(
      'every rule evaluated at least once',
      async () => {
        const loaded = await api.rules();
        return loaded.length === inFile && loaded.every((r) => r.health !== 'unknown') ? loaded : undefined;
      },
      30_000,
    );
    assert.ok(rules.length > 0, 'the rules file is loaded');
    for (const rule of rules) {
      assert.equal(path.resolve(rule.file), rulesFile);
      if (rule.health !== 'ok') problems.push(`rule ${rule.name}: ${rule.health}: ${rule.lastError ?? ''}`);
      try {
        await api.queryRange(rule.query, range);
      } catch (error: unknown) {
        if (!(error instanceof PrometheusApiError)) throw error;
        problems.push(`rule ${rule.name}: invalid: ${error.message}`);
      }
      for (const metric of metricNames(rule.query)) {
        if ((await api.seriesCount(metric)) > 0) continue;
        if (SERIES_ONLY_IN_TROUBLE.has(metric) && declared.has(declaredName(metric))) continue;
        problems.push(`rule ${rule.name}: no series of ${metric}`);
      }
    }
    t.diagnostic(`${rules.length} rules`);
    assert.deepEqual(problems, [], problems.join('\n'));

    // Healthy pipeline: no critical alert pending or firing; every service's target up.
    const critical = (await api.alerts()).filter((a) => a.labels['severity'] === 'critical');
    assert.deepEqual(
      critical.map((a) => `${a.labels['alertname']} ${a.state} ${JSON.stringify(a.labels)}`),
      [],
      'critical alerts on a healthy pipeline',
    );
    const targets = await api.targets();
    assert.deepEqual(
      targets
        .map((target) => `${target.labels['job']} ${target.health}${target.lastError ? ` ${target.lastError}` : ''}`)
        .sort(),
      SERVICES.map((s) => `pushtech-${s} up`).sort(),
    );
  });
});
