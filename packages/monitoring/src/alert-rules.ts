import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the monitoring assets live (the chart reaches monitoring/ through a symlink). */
export const monitoringPaths = {
  repoRoot,
  dir: path.join(repoRoot, 'monitoring'),
  alerts: path.join(repoRoot, 'monitoring', 'alerts.yml'),
  alertsTest: path.join(repoRoot, 'monitoring', 'alerts.test.yml'),
  dashboards: path.join(repoRoot, 'monitoring', 'dashboards'),
  operationsDoc: path.join(repoRoot, 'docs', 'operations.md'),
} as const;

/**
 * The scrape `job` label of each service's /metrics, as the alert rules assume it (only the
 * `up` rule selects by job; docs/operations.md, "What to scrape").
 */
export const scrapeJobs = {
  tracker: 'pushtech-tracker',
  kafkastore: 'pushtech-kafkastore',
  consumers: 'pushtech-consumers',
  kafidx: 'pushtech-kafidx',
} as const;

export interface AlertRule {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
  /** The `for:` duration as written, undefined when the alert fires at once. */
  readonly for: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

interface RulesFile {
  groups?: { name?: string; rules?: Record<string, unknown>[] }[];
}

/** The alerting rules of a Prometheus rules file, in file order (recording rules are skipped). */
export function loadAlertRules(file: string = monitoringPaths.alerts): AlertRule[] {
  const parsed = parse(readFileSync(file, 'utf8')) as RulesFile | null;
  return (parsed?.groups ?? []).flatMap((group) =>
    (group.rules ?? [])
      .filter((rule) => typeof rule['alert'] === 'string')
      .map((rule) => ({
        group: String(group.name),
        alert: String(rule['alert']),
        expr: String(rule['expr']),
        for: typeof rule['for'] === 'string' ? rule['for'] : undefined,
        labels: (rule['labels'] ?? {}) as Record<string, string>,
        annotations: (rule['annotations'] ?? {}) as Record<string, string>,
      })),
  );
}

export interface RuleTestCoverage {
  /** Evaluations that expect the alert to fire (a non-empty exp_alerts). */
  readonly firing: number;
  /** Evaluations that expect it not to fire (exp_alerts empty or absent). */
  readonly quiet: number;
}

interface RuleTestsFile {
  rule_files?: string[];
  tests?: { alert_rule_test?: { alertname?: string; exp_alerts?: unknown[] | null }[] }[];
}

/** The rules files a `promtool test rules` file names, resolved against its folder. */
export function ruleTestFiles(file: string = monitoringPaths.alertsTest): string[] {
  const parsed = parse(readFileSync(file, 'utf8')) as RuleTestsFile | null;
  return (parsed?.rule_files ?? []).map((name) => path.resolve(path.dirname(file), name));
}

/** Per alert name, how many evaluations of a `promtool test rules` file expect it to fire or not. */
export function ruleTestCoverage(file: string = monitoringPaths.alertsTest): Map<string, RuleTestCoverage> {
  const parsed = parse(readFileSync(file, 'utf8')) as RuleTestsFile | null;
  const coverage = new Map<string, { firing: number; quiet: number }>();
  for (const test of parsed?.tests ?? []) {
    for (const evaluation of test.alert_rule_test ?? []) {
      const name = String(evaluation.alertname);
      const entry = coverage.get(name) ?? { firing: 0, quiet: 0 };
      if ((evaluation.exp_alerts ?? []).length > 0) entry.firing += 1;
      else entry.quiet += 1;
      coverage.set(name, entry);
    }
  }
  return coverage;
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * The `###` paragraphs under a `## <section>` heading of a Markdown document, by heading text:
 * the text up to the next heading of level 3 or less, trimmed.
 */
export function markdownSubsections(markdown: string, section: string): Map<string, string> {
  const found = new Map<string, string>();
  let inSection = false;
  let current: string | undefined;
  let body: string[] = [];
  const close = (): void => {
    if (current !== undefined) found.set(current, body.join('\n').trim());
    current = undefined;
    body = [];
  };
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,3}) (.*)$/.exec(line);
    if (heading) {
      close();
      const level = heading[1]?.length ?? 0;
      const text = (heading[2] ?? '').trim();
      if (level <= 2) inSection = level === 2 && text === section;
      else if (inSection) current = text;
      continue;
    }
    if (current !== undefined) body.push(line);
  }
  close();
  return found;
}
