/**
 * The alert rules (monitoring/alerts.yml) are valid for Prometheus, their unit tests
 * (monitoring/alerts.test.yml) pass under promtool, every alert is tested both ways (a case
 * where it fires and one where it must not), and every alert has its runbook paragraph in
 * docs/operations.md, where its runbook_url points.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  checkRules,
  headingAnchor,
  loadAlertRules,
  markdownSubsections,
  monitoringPaths,
  PromtoolMissingError,
  ruleTestCoverage,
  ruleTestFiles,
  runPromtool,
  scrapeJobs,
  testRules,
} from '../src/index.js';

const alerts = loadAlertRules();
const SEVERITIES = ['critical', 'warning'];

describe('the alert rules', () => {
  it('are a valid rules file: promtool check rules', async () => {
    const result = await checkRules([monitoringPaths.alerts]);
    assert.ok(result.ok, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  it('pass their unit tests: promtool test rules', async () => {
    const result = await testRules([monitoringPaths.alertsTest]);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /SUCCESS/);
    assert.deepEqual(ruleTestFiles(), [monitoringPaths.alerts], 'the unit tests test the rules file itself');
  });

  it('each alert has a case where it fires and one where it must not', () => {
    assert.ok(alerts.length > 0, 'alerts.yml holds alerts');
    const coverage = ruleTestCoverage();
    const untested = alerts.flatMap(({ alert }) => {
      const { firing = 0, quiet = 0 } = coverage.get(alert) ?? {};
      return firing > 0 && quiet > 0 ? [] : [`${alert} (firing cases: ${firing}, quiet cases: ${quiet})`];
    });
    assert.deepEqual(untested, [], 'alerts without a firing and a quiet case in alerts.test.yml');
    const unknown = [...coverage.keys()].filter((name) => !alerts.some((a) => a.alert === name));
    assert.deepEqual(unknown, [], 'alerts.test.yml tests alerts that alerts.yml does not have');
  });

  it('each alert has a unique name, a severity, a summary, a description and a runbook_url', () => {
    const names = alerts.map((a) => a.alert);
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      'duplicate alert names',
    );
    for (const { alert, labels, annotations } of alerts) {
      assert.ok(SEVERITIES.includes(labels['severity'] ?? ''), `${alert}: severity is one of ${SEVERITIES.join(', ')}`);
      assert.ok((annotations['summary'] ?? '').length > 0, `${alert}: summary`);
      assert.ok((annotations['description'] ?? '').length > 0, `${alert}: description`);
      assert.equal(annotations['runbook_url'], `docs/operations.md#${headingAnchor(alert)}`, `${alert}: runbook_url`);
    }
  });

  it('each alert has a runbook paragraph in docs/operations.md, and each paragraph an alert', () => {
    const runbooks = markdownSubsections(readFileSync(monitoringPaths.operationsDoc, 'utf8'), 'Alerts');
    const missing = alerts.filter(({ alert }) => (runbooks.get(alert) ?? '').length < 200).map((a) => a.alert);
    assert.deepEqual(missing, [], 'alerts without a runbook paragraph (### <alert> under ## Alerts, 200+ chars)');
    const stale = [...runbooks.keys()].filter((heading) => !alerts.some((a) => a.alert === heading));
    assert.deepEqual(stale, [], 'runbook paragraphs of alerts that alerts.yml does not have');
  });

  it('selects the scrape jobs of the convention by their job label', () => {
    const down = alerts.find((a) => a.alert === 'PushtechTargetDown');
    const selector = /up\{job=~"([^"]+)"\}/.exec(down?.expr ?? '')?.[1];
    assert.ok(selector !== undefined, 'PushtechTargetDown selects up by a job regex');
    const jobRegex = new RegExp(`^(?:${selector})$`);
    for (const job of Object.values(scrapeJobs)) assert.match(job, jobRegex);
    assert.doesNotMatch('node-exporter', jobRegex);
    const header = readFileSync(monitoringPaths.alerts, 'utf8');
    const doc = readFileSync(monitoringPaths.operationsDoc, 'utf8');
    for (const job of Object.values(scrapeJobs)) {
      assert.ok(header.includes(`job="${job}"`), `alerts.yml's header names ${job}`);
      assert.ok(doc.includes(`\`${job}\``), `docs/operations.md names ${job}`);
    }
  });
});

describe('promtool', () => {
  it('missing: a clear error naming the Debian package that brings it', async () => {
    await assert.rejects(
      runPromtool(['--version'], { searchPath: '/nonexistent' }),
      (error: unknown) => error instanceof PromtoolMissingError && /apt-get install .*prometheus/.test(error.message),
    );
  });

  it('reports a broken rule as a failed check with promtool’s reason, not as an exception', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-rules-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'broken.yml');
    writeFileSync(
      file,
      'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(up[5m] > 0\n',
    );
    const result = await checkRules([file]);
    assert.equal(result.ok, false);
    assert.equal(result.code, 1);
    assert.match(result.output, /Broken|unclosed|parse error/i);
  });
});
