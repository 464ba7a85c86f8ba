/**
 * The checked-in layouts (kubernetes/ = topology separate, kubernetes.two/ = topology sidecar):
 * they are exactly the chart rendered, every object passes the Kubernetes schemas, and the
 * properties the pipeline relies on hold (hardening, probes, the sidecar pod, selectors, TLS).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  dumpYaml,
  loadAllYaml,
  type V1Container,
  type V1Ingress,
  type V1Job,
  type V1NetworkPolicy,
  type V1PodDisruptionBudget,
  type V1Service,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { KAFKA_VERSION } from '@pushtech/devstack';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { chartDir, layouts, NAMESPACE, RELEASE, type Layout } from '../src/k8s-helm.js';
import {
  COMPONENT_LABEL,
  readLayoutFiles,
  readLayoutObjects,
  renderLayoutFiles,
  type KubeObject,
} from '../src/k8s-manifests.js';
import {
  containerNamed,
  envValue,
  matchLabelsOf,
  podContainers,
  selects,
  serviceOf,
  workloadNamed,
  workloads,
  type Workload,
} from '../src/k8s-workloads.js';

interface ChartDefaults {
  image: { registry: string };
  consumers: { list: Record<string, { enabled: boolean; redis: boolean }> };
}
const defaults = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as ChartDefaults;
const appVersion = (parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string })
  .appVersion;
const registry = defaults.image.registry;

type Model = new (data: never) => { validate(): void };
const models: Readonly<Record<string, Model>> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Paths present in the YAML but dropped by the typed client-node model: misspelt or unknown fields. */
function unknownFields(original: unknown, typed: unknown, at: string): string[] {
  if (Array.isArray(original)) {
    const list = Array.isArray(typed) ? (typed as unknown[]) : [];
    return original.flatMap((item, i) => unknownFields(item, list[i], `${at}[${i}]`));
  }
  if (original !== null && typeof original === 'object') {
    const known = (typed !== null && typeof typed === 'object' ? typed : {}) as Record<string, unknown>;
    return Object.entries(original).flatMap(([key, value]) =>
      key in known ? unknownFields(value, known[key], `${at}.${key}`) : [`${at}.${key}`],
    );
  }
  return [];
}

/** The operational endpoints every service serves next to its public routes. */
const INTERNAL_PATHS = ['/metrics', '/healthz', '/readyz'];

/** Whether an Ingress path sends `target` to the backend (Prefix matches whole path elements). */
function routes(path: string, pathType: string, target: string): boolean {
  if (pathType === 'Exact') return path === target;
  const prefix = path.replace(/\/+$/, '');
  return prefix === '' || target === prefix || target.startsWith(`${prefix}/`);
}

function describeObject(o: KubeObject): string {
  return `${o.kind} ${o.metadata.name}`;
}

function byKind<T>(objects: readonly KubeObject[], kind: string): Array<T & KubeObject> {
  return objects.filter((o) => o.kind === kind) as Array<T & KubeObject>;
}

function workloadsSelectedBy(objects: readonly KubeObject[], selector: Record<string, string>): Workload[] {
  return workloads(objects).filter((w) => selects(selector, w.template.metadata?.labels));
}

function numberEnv(container: V1Container, name: string): number {
  const raw = envValue(container, name);
  assert.ok(raw !== undefined && /^\d+$/.test(raw), `${container.name}: ${name}=${String(raw)} is not a number`);
  return Number(raw);
}

for (const layout of layouts) {
  const where = path.basename(layout.dir);
  describe(`${where}/ (topology ${layout.topology})`, () => {
    const objects = readLayoutObjects(layout.dir);

    it('is exactly the chart rendered with its values (regenerate with npm run k8s:render)', () => {
      const wanted = renderLayoutFiles(layout);
      const present = readLayoutFiles(layout.dir);
      assert.deepEqual([...present.keys()], [...wanted.keys()], `files in ${where}/`);
      for (const [name, text] of wanted) assert.equal(present.get(name), text, `${where}/${name} is out of date`);
    });

    it('validates every object against the Kubernetes schemas, with no unknown field', () => {
      assert.ok(objects.length > 10, `only ${objects.length} objects in ${where}/`);
      for (const object of objects) {
        const Model = models[`${object.apiVersion}/${object.kind}`];
        assert.ok(Model, `${describeObject(object)}: no schema for ${object.apiVersion} ${object.kind}`);
        assert.doesNotThrow(() => new Model(object as never).validate(), `${describeObject(object)} is invalid`);
      }
      for (const [name, text] of readLayoutFiles(layout.dir)) {
        const raw = parseAllDocuments(text).map((d) => d.toJS() as unknown);
        const typed = loadAllYaml(text);
        assert.equal(typed.length, raw.length, `${name}: documents`);
        raw.forEach((original, i) => {
          const roundTrip = parse(dumpYaml(typed[i])) as unknown;
          assert.deepEqual(unknownFields(original, roundTrip, ''), [], `${name}, document ${i + 1}: unknown fields`);
        });
      }
    });

    it('puts every object in the release namespace with the labels the ops CLI selects on', () => {
      for (const object of objects) {
        if (object.kind === 'Namespace') {
          assert.equal(object.metadata.name, NAMESPACE);
          continue;
        }
        assert.equal(object.metadata.namespace, NAMESPACE, describeObject(object));
        assert.equal(object.metadata.labels?.['app.kubernetes.io/name'], 'pushtech', describeObject(object));
        assert.equal(object.metadata.labels?.['app.kubernetes.io/instance'], RELEASE, describeObject(object));
        assert.ok(object.metadata.labels?.[COMPONENT_LABEL], `${describeObject(object)}: component label`);
      }
      const tracker = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`);
      assert.equal(tracker.template.metadata?.labels?.[COMPONENT_LABEL], 'tracker');
    });

    it('hardens every pod and container: non-root, read-only root, no privilege escalation', () => {
      for (const w of workloads(objects)) {
        const what = describeObject(w.object);
        assert.equal(w.spec.securityContext?.runAsNonRoot, true, `${what}: pod runAsNonRoot`);
        assert.equal(w.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${what}: seccomp`);
        assert.equal(w.spec.automountServiceAccountToken, false, `${what}: no API token in the pod`);
        for (const { container } of podContainers(w.spec)) {
          const sc = container.securityContext;
          const name = `${what}/${container.name}`;
          assert.notEqual(sc?.runAsNonRoot, false, `${name}: runAsNonRoot`);
          assert.ok((sc?.runAsUser ?? w.spec.securityContext.runAsUser ?? 0) > 0, `${name}: a non-zero uid`);
          assert.equal(sc?.readOnlyRootFilesystem, true, `${name}: readOnlyRootFilesystem`);
          assert.equal(sc?.allowPrivilegeEscalation, false, `${name}: allowPrivilegeEscalation`);
          assert.notEqual(sc?.privileged, true, `${name}: privileged`);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${name}: capabilities`);
          assert.ok(container.resources?.limits?.['memory'], `${name}: a memory limit`);
          assert.ok(container.resources?.requests?.['cpu'], `${name}: a cpu request`);
        }
      }
    });

    it('runs the services as `node dist/main.js` from the release images, with probes on /healthz and /readyz', () => {
      const seen = new Set<string>();
      for (const w of workloads(objects)) {
        for (const { container, init } of podContainers(w.spec)) {
          const name = `${describeObject(w.object)}/${container.name}`;
          const service = serviceOf(container, registry);
          if (w.object.kind === 'Job') continue;
          assert.ok(container.livenessProbe, `${name}: liveness probe`);
          if (!service) continue;
          seen.add(service);
          assert.equal(container.image, `${registry}/${service}:${appVersion}`, name);
          assert.deepEqual(container.command, ['node', 'dist/main.js'], name);
          // Probes go to the ops port where a service has one of its own (kafidx), else its only port.
          const port = (container.ports?.find((p) => p.name === 'ops') ?? container.ports?.[0])?.name;
          assert.ok(port, `${name}: a named port`);
          assert.deepEqual(container.startupProbe?.httpGet, { path: '/healthz', port }, `${name}: startup probe`);
          assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port }, `${name}: liveness probe`);
          // The only exception: the kafkastore sidecar, whose readiness would gate tracker traffic
          // on Kafka being up, while the pod's Redis is there to buffer exactly that outage.
          if (service === 'kafkastore' && init) {
            assert.equal(container.readinessProbe, undefined, `${name}: no readiness probe in the sidecar`);
          } else {
            assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port }, `${name}: readiness`);
          }
        }
      }
      assert.deepEqual([...seen].sort(), ['consumers', 'kafidx', 'kafkastore', 'tracker']);
    });

    it('names every kafkastore after its pod, so no two replicas share a processing list (issue 19)', () => {
      const kafkastores = workloads(objects).flatMap((w) =>
        podContainers(w.spec)
          .filter(({ container }) => serviceOf(container, registry) === 'kafkastore')
          .map(({ container }) => ({ workload: describeObject(w.object), container })),
      );
      assert.ok(kafkastores.length > 0, 'a kafkastore container');
      for (const { workload, container } of kafkastores) {
        const instance = container.env?.filter((e) => e.name === 'KAFKASTORE_INSTANCE') ?? [];
        // A literal value would be the same in every replica (StatefulSet or tracker pod).
        assert.deepEqual(
          instance.map((e) => [e.value, e.valueFrom?.fieldRef?.fieldPath]),
          [[undefined, 'metadata.name']],
          `${workload}: KAFKASTORE_INSTANCE from the pod name`,
        );
      }
    });

    it('has one consumer Deployment per enabled consumer, each a known consumer with CONSUMER_NAME', () => {
      const enabled = Object.entries(defaults.consumers.list)
        .filter(([, c]) => c.enabled)
        .map(([name]) => name)
        .sort();
      assert.ok(enabled.length >= 1);
      const deployments = workloads(objects).filter(
        (w) => w.template.metadata?.labels?.[COMPONENT_LABEL] === 'consumer',
      );
      const names = deployments.map((w) => envValue(containerNamed(w.spec, 'consumer'), 'CONSUMER_NAME') ?? '?');
      assert.deepEqual([...names].sort(), enabled);
      for (const w of deployments) {
        assert.equal(w.object.kind, 'Deployment');
        const consumer = containerNamed(w.spec, 'consumer');
        const name = envValue(consumer, 'CONSUMER_NAME');
        const definition = builtInConsumers.find((d) => d.name === name);
        assert.ok(definition, `${String(name)} is not a built-in consumer`);
        // Redis exactly for the consumers whose definition asks for it.
        assert.equal(envValue(consumer, 'REDIS_URL') !== undefined, definition.redis === true, `${name}: REDIS_URL`);
        assert.equal(envValue(consumer, 'CONSUMERS'), undefined, `${name}: one consumer per process`);
      }
    });

    it('autoscales the tracker Deployment on a container that exists in its pod', () => {
      const [hpa, ...more] = byKind<V2HorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
      assert.ok(hpa && more.length === 0, 'one HPA');
      assert.deepEqual(hpa.spec?.scaleTargetRef, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `${RELEASE}-tracker`,
      });
      const tracker = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`);
      assert.equal((tracker.object['spec'] as { replicas?: number }).replicas, undefined, 'the HPA owns replicas');
      assert.ok((hpa.spec?.minReplicas ?? 1) >= 2, 'at least two trackers');
      for (const metric of hpa.spec?.metrics ?? []) {
        const container = metric.containerResource?.container;
        if (container !== undefined) containerNamed(tracker.spec, container);
      }
      if (layout.topology === 'sidecar') {
        assert.equal(hpa.spec?.metrics?.[0]?.containerResource?.container, 'kafkastore', 'the per-pod bottleneck');
      }
    });

    it('annotates each pod that serves /metrics for Prometheus, with the port of its main container (issue 25)', () => {
      let annotated = 0;
      for (const w of workloads(objects)) {
        const annotations = w.template.metadata?.annotations ?? {};
        const main = w.spec.containers.find((c) => c.livenessProbe?.httpGet !== undefined);
        const where = describeObject(w.object);
        if (!main) {
          assert.equal(annotations['prometheus.io/scrape'], undefined, `${where}: no /metrics to scrape`);
          continue;
        }
        const probePort = main.livenessProbe?.httpGet?.port;
        const port = main.ports?.find((p) => p.name === probePort || p.containerPort === probePort)?.containerPort;
        assert.equal(annotations['prometheus.io/scrape'], 'true', where);
        assert.equal(annotations['prometheus.io/path'], '/metrics', where);
        assert.equal(
          annotations['prometheus.io/port'],
          String(port),
          `${where}: the listener of /healthz and /metrics`,
        );
        assert.match(annotations['pushtech.io/job'] ?? '', /^pushtech-(tracker|kafkastore|consumers|kafidx)$/, where);
        annotated += 1;
      }
      assert.ok(annotated >= 4, `${annotated} annotated pods`);
    });

    it('has PodDisruptionBudgets, NetworkPolicies and Services whose selectors match pods', () => {
      const pdbs = byKind<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget');
      assert.ok(
        pdbs.some((p) => p.metadata.name === `${RELEASE}-tracker`),
        'a PDB for the tracker',
      );
      for (const pdb of pdbs) {
        const matched = workloadsSelectedBy(objects, matchLabelsOf(pdb.spec?.selector));
        assert.equal(matched.length, 1, `PDB ${pdb.metadata.name} selects ${matched.length} workloads`);
      }
      for (const policy of byKind<V1NetworkPolicy>(objects, 'NetworkPolicy')) {
        const matched = workloadsSelectedBy(objects, matchLabelsOf(policy.spec?.podSelector));
        assert.equal(matched.length, 1, `NetworkPolicy ${policy.metadata.name} protects ${matched.length} workloads`);
      }
      for (const service of byKind<V1Service>(objects, 'Service')) {
        const matched = workloadsSelectedBy(objects, service.spec?.selector ?? {});
        assert.equal(matched.length, 1, `Service ${service.metadata.name} selects ${matched.length} workloads`);
        const ports = podContainers(matched[0]?.spec ?? { containers: [] }).flatMap((c) => c.container.ports ?? []);
        for (const port of service.spec?.ports ?? []) {
          const target = port.targetPort ?? port.port;
          const found = ports.some((p) => p.name === target || p.containerPort === target);
          assert.ok(found, `Service ${service.metadata.name}: no container port ${String(target)}`);
        }
      }
    });

    it('exposes only the tracking API through a TLS Ingress', () => {
      const ingresses = byKind<V1Ingress>(objects, 'Ingress');
      assert.ok(
        ingresses.some((i) => i.metadata.name === `${RELEASE}-tracker`),
        'a tracker Ingress',
      );
      const services = byKind<V1Service>(objects, 'Service');
      for (const ingress of ingresses) {
        const tlsHosts = (ingress.spec?.tls ?? []).flatMap((t) => (t.secretName ? (t.hosts ?? []) : []));
        for (const rule of ingress.spec?.rules ?? []) {
          assert.ok(
            rule.host && tlsHosts.includes(rule.host),
            `${ingress.metadata.name}: TLS for ${String(rule.host)}`,
          );
          for (const p of rule.http?.paths ?? []) {
            for (const internal of INTERNAL_PATHS) {
              assert.ok(!routes(p.path ?? '/', p.pathType, internal), `${p.pathType} ${p.path} exposes ${internal}`);
            }
            const backend = p.backend.service;
            const service = services.find((s) => s.metadata.name === backend?.name);
            assert.ok(service, `${ingress.metadata.name}: no Service ${String(backend?.name)}`);
            assert.ok(
              service.spec?.ports?.some((sp) => sp.name === backend?.port?.name),
              `${p.path}: Service port`,
            );
          }
        }
      }
    });

    it('creates the events topic (several partitions) and its dead-letter topic with kafka-topics.sh', () => {
      const [job, ...more] = byKind<V1Job>(objects, 'Job');
      assert.ok(job && more.length === 0, 'one topic Job');
      const container = job.spec?.template.spec?.containers[0];
      assert.ok(container);
      assert.match(container.args?.[0] ?? '', /kafka-topics\.sh/);
      assert.match(container.args?.[0] ?? '', /--create --if-not-exists/);
      assert.equal(envValue(container, 'EVENTS_TOPIC'), 'events');
      assert.equal(envValue(container, 'DLQ_TOPIC'), 'events.dlq');
      assert.ok(numberEnv(container, 'EVENTS_PARTITIONS') > 1, 'several partitions');
      const kafka = workloadNamed(objects, 'StatefulSet', `${RELEASE}-kafka`);
      const image = containerNamed(kafka.spec, 'kafka').image ?? '';
      assert.equal(image, `apache/kafka:${KAFKA_VERSION}`, 'the demo broker runs the version the devstack tests');
      assert.equal(container.image, image);
    });

    if (layout.topology === 'sidecar') sidecarAssertions(layout, objects);
    else separateAssertions(objects);
  });
}

/** A conservative drain rate for one kafkastore (measured 21-34k events/s), as the chart plans with. */
const PLANNED_DRAIN_RATE = 10_000;

function sidecarAssertions(layout: Layout, objects: readonly KubeObject[]): void {
  it('holds tracker, its own Redis (AOF on an emptyDir) and kafkastore (drain on exit) in every tracker pod', () => {
    const pod = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).spec;
    assert.deepEqual(
      pod.containers.map((c) => c.name),
      ['tracker'],
    );
    // Native sidecars, stopped in reverse order after the tracker: kafkastore before Redis.
    assert.deepEqual(
      (pod.initContainers ?? []).map((c) => [c.name, c.restartPolicy]),
      [
        ['redis', 'Always'],
        ['kafkastore', 'Always'],
      ],
    );
    const redis = containerNamed(pod, 'redis');
    const args = redis.args ?? [];
    const arg = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    assert.equal(arg('--appendonly'), 'yes');
    assert.equal(arg('--appendfsync'), 'always', 'a 2xx survives a Redis SIGKILL (issue 19)');
    assert.equal(arg('--maxmemory-policy'), 'noeviction');
    assert.equal(arg('--bind'), '127.0.0.1', 'the pod-local buffer is not reachable from outside the pod');
    const dataMount = redis.volumeMounts?.find((m) => m.mountPath === arg('--dir'));
    assert.ok(dataMount, 'the AOF directory is a volume');
    assert.ok(pod.volumes?.find((v) => v.name === dataMount.name)?.emptyDir, 'on an emptyDir');

    const tracker = containerNamed(pod, 'tracker');
    const kafkastore = containerNamed(pod, 'kafkastore');
    assert.equal(envValue(kafkastore, 'KAFKASTORE_DRAIN_ON_EXIT'), 'true');
    assert.equal(envValue(tracker, 'REDIS_URL'), 'redis://127.0.0.1:6379');
    assert.equal(envValue(kafkastore, 'REDIS_URL'), 'redis://127.0.0.1:6379');
    assert.equal(envValue(tracker, 'REDIS_QUEUE_KEY'), envValue(kafkastore, 'REDIS_QUEUE_KEY'));
    assert.equal(envValue(tracker, 'TRACKER_WORKERS'), '1');
    assert.equal(
      kafkastore.env?.find((e) => e.name === 'KAFKASTORE_INSTANCE')?.valueFrom?.fieldRef?.fieldPath,
      'metadata.name',
    );
    assert.ok(
      workloads(objects).every((w) => w.object.metadata.name !== `${RELEASE}-kafkastore`),
      `no separate kafkastore in ${path.basename(layout.dir)}/`,
    );
  });

  it('gives the pod a grace period that covers the preStop sleep, the tracker stop and the whole drain', () => {
    const pod = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).spec;
    const tracker = containerNamed(pod, 'tracker');
    const kafkastore = containerNamed(pod, 'kafkastore');
    const drainMs = numberEnv(kafkastore, 'KAFKASTORE_DRAIN_TIMEOUT_MS');
    const kafkastoreStopMs = numberEnv(kafkastore, 'SHUTDOWN_TIMEOUT_MS');
    const trackerStopMs = numberEnv(tracker, 'SHUTDOWN_TIMEOUT_MS');
    assert.ok(drainMs < kafkastoreStopMs, 'the drain ends before kafkastore gives up');
    const preStop = tracker.lifecycle?.preStop?.exec?.command ?? [];
    assert.equal(preStop[0], 'sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    const margin = 5_000;
    const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
    assert.ok(
      graceMs >= preStopMs + trackerStopMs + kafkastoreStopMs + margin,
      `grace ${graceMs} ms < preStop ${preStopMs} + tracker ${trackerStopMs} + kafkastore ${kafkastoreStopMs} + ${margin}`,
    );
    assert.ok(graceMs >= drainMs + margin, 'grace >= drain timeout + margin');
    // The buffer a pod may hold is one it can drain within the timeout.
    const maxQueue = numberEnv(tracker, 'TRACKER_MAX_QUEUE');
    assert.ok(maxQueue <= (PLANNED_DRAIN_RATE * drainMs) / 1000, `TRACKER_MAX_QUEUE=${maxQueue} cannot drain in time`);
  });
}

function separateAssertions(objects: readonly KubeObject[]): void {
  it('runs tracker, one shared Redis and kafkastore (no drain on exit) as separate workloads', () => {
    const trackerPod = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).spec;
    assert.deepEqual(
      podContainers(trackerPod).map((c) => c.container.name),
      ['tracker'],
    );
    const kafkastoreSet = workloadNamed(objects, 'StatefulSet', `${RELEASE}-kafkastore`);
    const kafkastore = containerNamed(kafkastoreSet.spec, 'kafkastore');
    assert.equal(envValue(kafkastore, 'KAFKASTORE_DRAIN_ON_EXIT'), 'false', 'the shared Redis outlives the pod');
    const redisUrl = `redis://${RELEASE}-redis:6379`;
    assert.equal(envValue(containerNamed(trackerPod, 'tracker'), 'REDIS_URL'), redisUrl);
    assert.equal(envValue(kafkastore, 'REDIS_URL'), redisUrl);
    const redis = containerNamed(workloadNamed(objects, 'StatefulSet', `${RELEASE}-redis`).spec, 'redis');
    const args = redis.args ?? [];
    assert.equal(args[args.indexOf('--appendonly') + 1], 'yes');
    assert.equal(args[args.indexOf('--appendfsync') + 1], 'always');
    assert.equal(args[args.indexOf('--maxmemory-policy') + 1], 'noeviction');
    assert.ok(
      objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${RELEASE}-redis`),
      'Redis has no password: only the pipeline may reach it',
    );
  });
}
