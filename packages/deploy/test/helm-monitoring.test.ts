/**
 * The chart's monitoring and autoscaling options (issue 25): the PrometheusRule is
 * monitoring/alerts.yml, one dashboard ConfigMap per monitoring/dashboards/*.json, the
 * ServiceMonitors and PodMonitors reach every metrics port of the pipeline's pods under the job
 * names the rules select on, and the HPA's queue-depth metric and scale-down pacing respect the
 * drain budget. The monitoring.coreos.com CRD schemas are not available offline, so their
 * objects are checked field by field.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { V1ConfigMap, V1Container, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { chartDir, helmInstallDryRun, helmLint, repoRoot, runHelm, RELEASE } from '../src/k8s-helm.js';
import { type KubeObject } from '../src/k8s-manifests.js';
import { refusal, render } from './helm-render.js';
import { podContainers, selects, workloadNamed, workloads, type Workload } from '../src/k8s-workloads.js';

const monitoringDir = path.join(repoRoot, 'monitoring');
const alertsFile = path.join(monitoringDir, 'alerts.yml');
const dashboardsDir = path.join(monitoringDir, 'dashboards');
const dashboardFiles = existsSync(dashboardsDir)
  ? readdirSync(dashboardsDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

/** The scrape job names monitoring/alerts.yml and the dashboards select on. */
const JOBS = {
  tracker: 'pushtech-tracker',
  kafkastore: 'pushtech-kafkastore',
  consumers: 'pushtech-consumers',
  kafidx: 'pushtech-kafidx',
} as const;

const TOPOLOGIES = ['separate', 'sidecar'] as const;

const allOn = (topology: string): Record<string, unknown> => ({
  topology,
  'monitoring.serviceMonitor.enabled': true,
  'monitoring.prometheusRule.enabled': true,
  'monitoring.dashboards.enabled': dashboardFiles.length > 0,
  'tracker.autoscaling.queueDepth.enabled': topology === 'sidecar',
});

function graceOf(set: Record<string, unknown>): number {
  const grace = workloadNamed(render({ set }), 'Deployment', `${RELEASE}-tracker`).spec.terminationGracePeriodSeconds;
  assert.ok(grace !== undefined);
  return grace;
}

function byKind<T>(objects: readonly KubeObject[], kind: string): Array<T & KubeObject> {
  return objects.filter((o) => o.kind === kind) as Array<T & KubeObject>;
}

interface MonitorEndpoint {
  port?: unknown;
  path?: unknown;
  interval?: unknown;
  relabelings?: Array<{ targetLabel?: unknown; replacement?: unknown; action?: unknown }>;
}
interface Monitor extends KubeObject {
  spec: {
    selector?: { matchLabels?: Record<string, string> };
    endpoints?: MonitorEndpoint[];
    podMetricsEndpoints?: MonitorEndpoint[];
  };
}

/** The `job` an endpoint's relabelings give its targets. */
function jobOf(endpoint: MonitorEndpoint, where: string): string {
  const rule = endpoint.relabelings?.find((r) => r.targetLabel === 'job');
  assert.ok(rule, `${where}: no relabeling sets job`);
  assert.ok(rule.action === undefined || rule.action === 'replace', `${where}: job relabeling must replace`);
  assert.equal(typeof rule.replacement, 'string', `${where}: job relabeling without replacement`);
  return rule.replacement as string;
}

/** The port a container's probes use: its listener for /healthz, /readyz and /metrics. */
function metricsPort(container: V1Container): string | undefined {
  const port = container.livenessProbe?.httpGet?.port;
  if (port === undefined) return undefined;
  return container.ports?.find((p) => p.name === port || p.containerPort === port)?.name;
}

/** Every pipeline container with a /metrics listener, as "<workload>/<container>:<port name>". */
function metricsTargets(objects: readonly KubeObject[]): Set<string> {
  const targets = new Set<string>();
  for (const w of workloads(objects)) {
    for (const { container } of podContainers(w.spec)) {
      const port = metricsPort(container);
      if (port !== undefined) targets.add(`${w.object.metadata.name}/${container.name}:${port}`);
    }
  }
  return targets;
}

function containerWithPort(w: Workload, port: unknown): V1Container | undefined {
  return podContainers(w.spec).find(({ container }) => container.ports?.some((p) => p.name === port))?.container;
}

/**
 * Follows every ServiceMonitor and PodMonitor endpoint to the containers it scrapes, as the
 * Prometheus Operator would: ServiceMonitor -> Services by label -> Service port by name ->
 * pods by the Service's selector -> container port by the target port's name; PodMonitor ->
 * pods by label -> container port by name. Returns job -> "<workload>/<container>:<port>".
 */
function scrapedTargets(objects: readonly KubeObject[]): Map<string, Set<string>> {
  const byJob = new Map<string, Set<string>>();
  const add = (job: string, target: string): void => {
    byJob.set(job, (byJob.get(job) ?? new Set()).add(target));
  };
  const podsOf = (selector: Record<string, string>): Workload[] =>
    workloads(objects).filter((w) => selects(selector, w.template.metadata?.labels));

  for (const monitor of byKind<Monitor>(objects, 'ServiceMonitor')) {
    const where = `ServiceMonitor ${monitor.metadata.name}`;
    const services = byKind<V1Service>(objects, 'Service').filter((s) =>
      selects(monitor.spec.selector?.matchLabels, s.metadata.labels),
    );
    assert.equal(services.length, 1, `${where} selects ${services.length} Services`);
    const service = services[0] as V1Service;
    assert.ok(monitor.spec.endpoints?.length, `${where}: no endpoints`);
    for (const endpoint of monitor.spec.endpoints) {
      assert.equal(endpoint.path, '/metrics', `${where}: path`);
      const servicePort = service.spec?.ports?.find((p) => p.name === endpoint.port);
      assert.ok(servicePort, `${where}: Service ${service.metadata?.name} has no port named ${String(endpoint.port)}`);
      const pods = podsOf(service.spec?.selector ?? {});
      assert.equal(pods.length, 1, `${where}: its Service selects ${pods.length} workloads`);
      for (const w of pods) {
        const container = containerWithPort(w, servicePort.targetPort);
        assert.ok(
          container,
          `${where}: no container of ${w.object.metadata.name} has port ${String(servicePort.targetPort)}`,
        );
        add(jobOf(endpoint, where), `${w.object.metadata.name}/${container.name}:${String(servicePort.targetPort)}`);
      }
    }
  }
  for (const monitor of byKind<Monitor>(objects, 'PodMonitor')) {
    const where = `PodMonitor ${monitor.metadata.name}`;
    const pods = podsOf(monitor.spec.selector?.matchLabels ?? {});
    assert.ok(pods.length > 0, `${where} selects no pods`);
    assert.ok(monitor.spec.podMetricsEndpoints?.length, `${where}: no podMetricsEndpoints`);
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      assert.equal(endpoint.path, '/metrics', `${where}: path`);
      for (const w of pods) {
        const container = containerWithPort(w, endpoint.port);
        assert.ok(container, `${where}: no container of ${w.object.metadata.name} has port ${String(endpoint.port)}`);
        add(jobOf(endpoint, where), `${w.object.metadata.name}/${container.name}:${String(endpoint.port)}`);
      }
    }
  }
  return byJob;
}

/** Which job each pipeline container belongs to, from its image's service. */
function expectedJob(target: string): string {
  const container = target.split('/')[1]?.split(':')[0] ?? '';
  if (container === 'consumer') return JOBS.consumers;
  if (container === 'redis-exporter') return 'pushtech-redis';
  const job = (JOBS as Record<string, string>)[container];
  assert.ok(job, `no job for container ${container}`);
  return job;
}

describe('helm chart: monitoring and autoscaling (issue 25)', () => {
  it('links monitoring/ into the chart, and helm package carries the rules and dashboards', () => {
    assert.equal(readFileSync(alertsFile, 'utf8').length > 0, true, 'monitoring/alerts.yml');
    const out = mkdtempSync(path.join(tmpdir(), 'pushtech-chart-'));
    try {
      const result = runHelm(['package', chartDir, '--destination', out]);
      assert.equal(result.code, 0, result.stderr);
      const archive = readdirSync(out).find((f) => f.endsWith('.tgz'));
      assert.ok(archive, 'helm package wrote no archive');
      const listing = execFileSync('tar', ['-tzf', path.join(out, archive)], { encoding: 'utf8' }).split('\n');
      assert.ok(listing.includes('pushtech/monitoring/alerts.yml'), listing.join('\n'));
      for (const file of dashboardFiles) assert.ok(listing.includes(`pushtech/monitoring/dashboards/${file}`), file);
      assert.deepEqual(
        listing.filter((f) => f.endsWith('.test.yml')),
        [],
        'the promtool tests stay out (.helmignore)',
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('passes helm lint --strict and renders with every new option on and off, in both topologies', () => {
    for (const topology of TOPOLOGIES) {
      for (const set of [{ topology }, allOn(topology)]) {
        const result = helmLint({ set });
        assert.equal(result.code, 0, `helm lint ${JSON.stringify(set)}:\n${result.stdout}${result.stderr}`);
        assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
      const off = render({ set: { topology } });
      assert.deepEqual(
        off
          .filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/') || o.kind === 'ConfigMap')
          .map((o) => o.kind),
        [],
        'nothing for Prometheus or Grafana by default',
      );
      const on = render({ set: allOn(topology) });
      for (const kind of ['PrometheusRule', 'PodMonitor'])
        assert.ok(byKind(on, kind).length > 0, `${topology}: ${kind}`);
      assert.ok(byKind(on, 'ServiceMonitor').length > 0, `${topology}: ServiceMonitor`);
      for (const o of on.filter((x) => x.apiVersion.startsWith('monitoring.coreos.com/'))) {
        assert.equal(o.apiVersion, 'monitoring.coreos.com/v1', `${o.kind} ${o.metadata.name}`);
        assert.equal(o.metadata.namespace, 'pushtech', `${o.kind} ${o.metadata.name}: namespace`);
        assert.ok(o['spec'] && typeof o['spec'] === 'object', `${o.kind} ${o.metadata.name}: spec`);
      }
    }
  });

  it('holds exactly the rule groups of monitoring/alerts.yml in the PrometheusRule, with the selector labels', () => {
    const objects = render({
      set: { 'monitoring.prometheusRule.enabled': true, 'monitoring.prometheusRule.labels': { release: 'kps' } },
    });
    const [rule, ...more] = byKind<KubeObject & { spec: { groups: unknown } }>(objects, 'PrometheusRule');
    assert.ok(rule && more.length === 0, 'one PrometheusRule');
    assert.equal(rule.metadata.labels?.['release'], 'kps');
    const { groups } = parse(readFileSync(alertsFile, 'utf8')) as { groups: unknown[] };
    assert.ok(Array.isArray(groups) && groups.length > 0, 'monitoring/alerts.yml has groups');
    assert.deepEqual(rule.spec.groups, groups);
  });

  it('ships one ConfigMap per dashboard, labelled for the Grafana sidecar', () => {
    if (dashboardFiles.length === 0) {
      assert.match(
        refusal({ set: { 'monitoring.dashboards.enabled': true } }),
        /no monitoring\/dashboards\/\*\.json in the chart/,
      );
      return;
    }
    const maps = (set: Record<string, unknown>): Array<V1ConfigMap & KubeObject> =>
      byKind<V1ConfigMap>(render({ set: { 'monitoring.dashboards.enabled': true, ...set } }), 'ConfigMap');
    const defaults = maps({});
    assert.equal(defaults.length, dashboardFiles.length, 'one ConfigMap per dashboard');
    for (const file of dashboardFiles) {
      const map = defaults.find((m) => m.data?.[file] !== undefined);
      assert.ok(map, `no ConfigMap holds ${file}`);
      assert.equal(map.metadata.labels?.['grafana_dashboard'], '1', `${file}: sidecar label`);
      assert.equal(map.metadata.annotations, undefined, `${file}: no folder by default`);
      assert.deepEqual(
        JSON.parse(map.data?.[file] ?? ''),
        JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8')),
      );
      assert.doesNotThrow(() => new ConfigMap(map as never).validate(), `${file}: ConfigMap schema`);
    }
    assert.equal(new Set(defaults.map((m) => m.metadata.name)).size, defaults.length, 'distinct names');
    const custom = maps({
      'monitoring.dashboards.label': 'dashboards',
      'monitoring.dashboards.labelValue': 'pushtech',
      'monitoring.dashboards.folder': 'Pushtech',
    });
    for (const map of custom) {
      assert.equal(map.metadata.labels?.['dashboards'], 'pushtech');
      assert.equal(map.metadata.labels?.['grafana_dashboard'], undefined);
      assert.equal(map.metadata.annotations?.['grafana_folder'], 'Pushtech');
    }
  });

  for (const topology of TOPOLOGIES) {
    it(`${topology}: the ServiceMonitors and PodMonitors scrape every metrics port of the pipeline under its job`, () => {
      const objects = render({ set: allOn(topology) });
      const scraped = scrapedTargets(objects);
      const all = [...scraped.values()].flatMap((s) => [...s]);
      assert.equal(new Set(all).size, all.length, 'no target scraped twice');
      assert.deepEqual([...scraped.keys()].sort(), Object.values(JOBS).sort(), 'the job names of the rules');
      assert.deepEqual(new Set(all), metricsTargets(objects), 'every container with a metrics listener, nothing else');
      for (const [job, targets] of scraped) for (const t of targets) assert.equal(job, expectedJob(t), t);
      if (topology === 'sidecar') {
        const inTrackerPod = all.filter((t) => t.startsWith(`${RELEASE}-tracker/`)).sort();
        assert.deepEqual(inTrackerPod, [`${RELEASE}-tracker/kafkastore:ops`, `${RELEASE}-tracker/tracker:http`]);
      }
      for (const monitor of [
        ...byKind<Monitor>(objects, 'ServiceMonitor'),
        ...byKind<Monitor>(objects, 'PodMonitor'),
      ]) {
        for (const endpoint of monitor.spec.endpoints ?? monitor.spec.podMetricsEndpoints ?? []) {
          assert.equal(endpoint.interval, '15s', `${monitor.metadata.name}: interval`);
        }
      }
    });

    it(`${topology}: annotates the pods for Prometheus without the Operator, and not with it`, () => {
      const objects = render({ set: { topology } });
      const annotated = workloads(objects).filter(
        (w) => w.template.metadata?.annotations?.['prometheus.io/scrape'] === 'true',
      );
      const withMetrics = new Set([...metricsTargets(objects)].map((t) => t.split('/')[0]));
      assert.deepEqual(new Set(annotated.map((w) => w.object.metadata.name)), withMetrics);
      for (const w of annotated) {
        const annotations = w.template.metadata?.annotations ?? {};
        assert.equal(annotations['prometheus.io/path'], '/metrics');
        const port = Number(annotations['prometheus.io/port']);
        const container = podContainers(w.spec).find(({ container: c }) =>
          c.ports?.some((p) => p.containerPort === port && p.name === metricsPort(c)),
        )?.container;
        assert.ok(container, `${w.object.metadata.name}: port ${port} is no container's metrics port`);
        assert.equal(annotations['pushtech.io/job'], expectedJob(`x/${container.name}:`), w.object.metadata.name);
      }
      const tracker = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`);
      assert.equal(tracker.template.metadata?.annotations?.['prometheus.io/port'], '8380', 'the tracker port');
      const monitored = render({ set: { topology, 'monitoring.serviceMonitor.enabled': true } });
      for (const w of workloads(monitored)) {
        assert.equal(w.template.metadata?.annotations?.['prometheus.io/scrape'], undefined, w.object.metadata.name);
      }
    });
  }

  it('sidecar with tracker.localRedis.exporter: all three containers of the tracker pod are scraped', () => {
    const set = { ...allOn('sidecar'), 'tracker.localRedis.exporter.enabled': true };
    const objects = render({ set });
    const scraped = scrapedTargets(objects);
    const all = [...scraped.values()].flatMap((t) => [...t]);
    assert.deepEqual(new Set(all), metricsTargets(objects));
    assert.deepEqual(all.filter((t) => t.startsWith(`${RELEASE}-tracker/`)).sort(), [
      `${RELEASE}-tracker/kafkastore:ops`,
      `${RELEASE}-tracker/redis-exporter:redis-metrics`,
      `${RELEASE}-tracker/tracker:http`,
    ]);
    assert.deepEqual([...(scraped.get('pushtech-redis') ?? [])], [`${RELEASE}-tracker/redis-exporter:redis-metrics`]);
    const tracker = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`);
    assert.doesNotThrow(() => new Deployment(tracker.object).validate(), 'apps/v1 Deployment schema');
    // Native sidecars stop in reverse order: kafkastore drains first, then the exporter, then Redis.
    assert.deepEqual(
      tracker.spec.initContainers?.map((c) => c.name),
      ['redis', 'redis-exporter', 'kafkastore'],
    );
    const exporter = tracker.spec.initContainers?.[1];
    assert.equal(exporter?.restartPolicy, 'Always');
    assert.equal(exporter?.env?.find((e) => e.name === 'REDIS_ADDR')?.value, 'redis://127.0.0.1:6379');
    assert.equal(graceOf({ topology: 'sidecar', 'tracker.localRedis.exporter.enabled': true }), 90, 'same budget');
    const separate = render({ set: { topology: 'separate', 'tracker.localRedis.exporter.enabled': true } });
    assert.equal(workloadNamed(separate, 'Deployment', `${RELEASE}-tracker`).spec.initContainers, undefined);
  });

  const hpaOf = (set: Record<string, unknown>): V2HorizontalPodAutoscaler & KubeObject => {
    const [hpa, ...more] = byKind<V2HorizontalPodAutoscaler>(render({ set }), 'HorizontalPodAutoscaler');
    assert.ok(hpa && more.length === 0, 'one HPA');
    assert.doesNotThrow(() => new HorizontalPodAutoscaler(hpa as never).validate(), 'autoscaling/v2 schema');
    return hpa;
  };

  it('scales the tracker Deployment on its per-pod queue depth through prometheus-adapter, CPU kept', () => {
    const hpa = hpaOf({ topology: 'sidecar', 'tracker.autoscaling.queueDepth.enabled': true });
    assert.deepEqual(hpa.spec?.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: `${RELEASE}-tracker`,
    });
    const metrics = hpa.spec?.metrics ?? [];
    assert.deepEqual(
      metrics.map((m) => m.type),
      ['ContainerResource', 'Pods'],
    );
    assert.equal(metrics[0]?.containerResource?.name, 'cpu', 'CPU kept');
    assert.deepEqual(metrics[1]?.pods, {
      metric: { name: 'pushtech_tracker_queue_length' },
      target: { type: 'AverageValue', averageValue: '50000' },
    });
    assert.deepEqual(
      hpaOf({ topology: 'sidecar' }).spec?.metrics?.map((m) => m.type),
      ['ContainerResource'],
      'CPU only by default',
    );
    // The adapter rule in docs/deploy.md serves the metric under the name the HPA asks for.
    const docs = readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
    const block = /```yaml\n(# prometheus-adapter[^\n]*\n[\s\S]*?)```/.exec(docs)?.[1];
    assert.ok(block, 'docs/deploy.md: no prometheus-adapter rule block');
    const adapter = parse(block) as {
      rules: { custom: Array<{ seriesQuery: string; name: { as: string }; resources: unknown }> };
    };
    const rule = adapter.rules.custom.find((r) => r.name.as === 'pushtech_tracker_queue_length');
    assert.ok(rule, 'an adapter rule naming the metric');
    assert.match(rule.seriesQuery, /^pushtech_tracker_queue_length\{/);
    assert.deepEqual(rule.resources, { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } });
  });

  it('paces scale-down by the drain budget: window and period not shorter than the grace period', () => {
    const cases: Array<Record<string, unknown>> = [
      { topology: 'sidecar' },
      { topology: 'separate' },
      { topology: 'sidecar', 'kafkastore.drainTimeoutMs': 400_000, 'kafkastore.shutdownTimeoutMs': 420_000 },
      { topology: 'sidecar', 'tracker.autoscaling.scaleDown.stabilizationWindowSeconds': 900 },
    ];
    for (const set of cases) {
      const grace = graceOf(set);
      const down = hpaOf(set).spec?.behavior?.scaleDown;
      const window = down?.stabilizationWindowSeconds ?? 0;
      assert.ok(window >= grace, `${JSON.stringify(set)}: window ${window} s < drain budget ${grace} s`);
      assert.ok(window >= 300, `${JSON.stringify(set)}: window ${window} s`);
      assert.ok((down?.policies ?? []).length > 0);
      for (const policy of down?.policies ?? []) {
        assert.ok(
          policy.periodSeconds >= grace,
          `${JSON.stringify(set)}: ${policy.type} period ${policy.periodSeconds} s < ${grace} s`,
        );
      }
      assert.ok(
        down?.policies?.some((p) => p.type === 'Pods' && p.value === 1),
        'at least one pod per period',
      );
    }
    assert.equal(graceOf(cases[2] ?? {}), 5 + 10 + 420 + 5 + 5);
    assert.equal(
      hpaOf(cases[2] ?? {}).spec?.behavior?.scaleDown?.stabilizationWindowSeconds,
      445,
      'grows with the budget',
    );
    assert.equal(
      hpaOf(cases[3] ?? {}).spec?.behavior?.scaleDown?.stabilizationWindowSeconds,
      900,
      'a longer window is kept',
    );
  });

  it('says in the install notes how the pipeline is scraped and how to check the queue metric', () => {
    const notes = (set: Record<string, unknown>): string => helmInstallDryRun({ set }).split('\nNOTES:\n')[1] ?? '';
    assert.match(notes({}), /prometheus\.io\/\* annotations on the pods \(one port per pod/);
    assert.match(notes({ 'monitoring.serviceMonitor.enabled': true }), /ServiceMonitors and PodMonitors/);
    const queue = notes({ 'tracker.autoscaling.queueDepth.enabled': true, 'monitoring.prometheusRule.enabled': true });
    assert.match(
      queue,
      /custom\.metrics\.k8s\.io\/v1beta1\/namespaces\/pushtech\/pods\/\*\/pushtech_tracker_queue_length/,
    );
    assert.match(queue, /PrometheusRule pushtech/);
  });

  const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a negative queue-depth target',
      { 'tracker.autoscaling.queueDepth.targetAverageValue': -5 },
      /at '\/tracker\/autoscaling\/queueDepth\/targetAverageValue'/,
    ],
    [
      'a queue-depth target at maxQueue',
      { 'tracker.autoscaling.queueDepth.enabled': true, 'tracker.autoscaling.queueDepth.targetAverageValue': 500_000 },
      /targetAverageValue=500000 must be below tracker\.maxQueue=500000/,
    ],
    [
      'queue-depth scaling in the separate layout',
      { topology: 'separate', 'tracker.autoscaling.queueDepth.enabled': true },
      /queueDepth needs topology=sidecar/,
    ],
    [
      'a scale-down window shorter than the drain',
      { 'tracker.autoscaling.scaleDown.stabilizationWindowSeconds': 60 },
      /scaleDown\.stabilizationWindowSeconds=60 is below the 90 s drain budget/,
    ],
    [
      'a scale-down period shorter than the drain',
      { 'tracker.autoscaling.scaleDown.periodSeconds': 30 },
      /scaleDown\.periodSeconds=30 is below the 90 s drain budget/,
    ],
    [
      'a negative scale-down window',
      { 'tracker.autoscaling.scaleDown.stabilizationWindowSeconds': -1 },
      /scaleDown\/stabilizationWindowSeconds'/,
    ],
    [
      'a scrape interval without unit',
      { 'monitoring.serviceMonitor.interval': '15' },
      /at '\/monitoring\/serviceMonitor\/interval'/,
    ],
    [
      'a label value that is not a string',
      { 'monitoring.prometheusRule.labels': { release: 1 } },
      /prometheusRule\/labels\/release'/,
    ],
    [
      'a misspelt monitoring key',
      { 'monitoring.serviceMonitors': {} },
      /additional properties 'serviceMonitors' not allowed/,
    ],
    ['an empty dashboard label', { 'monitoring.dashboards.label': '' }, /at '\/monitoring\/dashboards\/label'/],
  ];
  for (const [what, set, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.match(refusal({ set }), message);
    });
  }
});
