/**
 * The chart itself: helm lint, the values schema and the cross-field checks refuse bad values
 * with a message naming them, and the values that shape the deployment do what they say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Ingress, V1Secret } from '@kubernetes/client-node';
import { helmInstallDryRun, helmLint, layouts, RELEASE } from '../src/k8s-helm.js';
import { type KubeObject } from '../src/k8s-manifests.js';
import { refusal, render } from './helm-render.js';
import { containerNamed, envValue, workloadNamed, workloads } from '../src/k8s-workloads.js';

function trackerPod(objects: readonly KubeObject[]) {
  return workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).spec;
}

describe('helm chart helm/pushtech', () => {
  it('passes helm lint --strict with its defaults and with each layout', () => {
    for (const values of [{}, ...layouts.map((l) => ({ files: [l.valuesFile] }))]) {
      const result = helmLint(values);
      assert.equal(result.code, 0, `helm lint ${JSON.stringify(values)}:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders both topologies with helm template', () => {
    for (const topology of ['separate', 'sidecar']) {
      const objects = render({ set: { topology } });
      const tracker = trackerPod(objects);
      assert.equal(tracker.initContainers !== undefined, topology === 'sidecar', topology);
      assert.equal(
        workloads(objects).some((w) => w.object.metadata.name === `${RELEASE}-kafkastore`),
        topology === 'separate',
      );
    }
  });

  const schemaRefusals: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown topology', { topology: 'both' }, /at '\/topology': value must be one of 'separate', 'sidecar'/],
    ['a misspelt key', { 'tracker.replicaz': 3 }, /at '\/tracker': additional properties 'replicaz' not allowed/],
    ['a broker without port', { 'kafka.brokers': ['kafka-0'] }, /at '\/kafka\/brokers\/0'/],
    ['a short kafidx token', { 'kafidx.token': 'short' }, /at '\/kafidx\/token'/],
    ['a port out of range', { 'tracker.port': 70000 }, /at '\/tracker\/port'/],
    ['a bad Redis size', { 'tracker.localRedis.maxmemory': '300 MB' }, /at '\/tracker\/localRedis\/maxmemory'/],
    ['a lower-case env name', { 'kafkastore.extraEnv': [{ name: 'geoip_db', value: '' }] }, /extraEnv\/0\/name'/],
    [
      'a consumer without redis flag',
      { 'consumers.list.mine': { enabled: true, replicas: 1 } },
      /missing property 'redis'/,
    ],
  ];
  for (const [what, set, message] of schemaRefusals) {
    it(`refuses ${what} through values.schema.json`, () => {
      assert.match(refusal({ set }), message);
    });
  }

  const ruleRefusals: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a sidecar buffer larger than one drain can empty',
      { topology: 'sidecar', 'tracker.maxQueue': 900_000 },
      /tracker\.maxQueue=900000 cannot be drained on scale-down: .* i\.e\. 600000 events/,
    ],
    [
      'a drain timeout the shutdown timer would cut',
      { 'kafkastore.drainTimeoutMs': 70_000 },
      /kafkastore\.drainTimeoutMs=70000 must be below kafkastore\.shutdownTimeoutMs=65000/,
    ],
    [
      'a grace period shorter than the drain',
      { 'tracker.terminationGracePeriodSeconds': 30 },
      /tracker\.terminationGracePeriodSeconds=30 is below the 90 s the pod needs/,
    ],
    [
      'min.insync.replicas above the replication factor',
      { 'kafka.topics.minInsyncReplicas': 4 },
      /minInsyncReplicas=4 exceeds kafka\.topics\.replicationFactor=3/,
    ],
    ['replication 3 on the one demo broker', { 'kafka.demo.enabled': true }, /kafka\.demo\.enabled runs one broker/],
    ['no Kafka at all', { 'kafka.brokers': [] }, /kafka\.brokers is empty/],
    [
      'two archivers on one ReadWriteOnce volume',
      { 'consumers.list.archiver.replicas': 2 },
      /consumers\.list\.archiver: replicas=2 with a ReadWriteOnce volume/,
    ],
  ];
  for (const [what, set, message] of ruleRefusals) {
    it(`refuses ${what}`, () => {
      assert.match(refusal({ set }), message);
    });
  }

  it('sizes the sidecar grace period from the shutdown timeouts', () => {
    const grace = (set: Record<string, unknown>): number | undefined =>
      trackerPod(render({ set: { topology: 'sidecar', ...set } })).terminationGracePeriodSeconds;
    // preStop 5 + tracker 10 + kafkastore 65 + Redis 5 + margin 5.
    assert.equal(grace({}), 90);
    assert.equal(
      grace({ 'kafkastore.drainTimeoutMs': 120_000, 'kafkastore.shutdownTimeoutMs': 125_000 }),
      5 + 10 + 125 + 5 + 5,
    );
    assert.equal(grace({ 'tracker.terminationGracePeriodSeconds': 300 }), 300, 'a longer grace is kept');
    assert.equal(trackerPod(render({ set: { topology: 'separate' } })).terminationGracePeriodSeconds, 5 + 10 + 5);
  });

  it('keeps the kafidx token in a Secret: generated, given, or an existing one', () => {
    const tokenRef = (objects: readonly KubeObject[]) =>
      containerNamed(workloadNamed(objects, 'Deployment', `${RELEASE}-kafidx`).spec, 'kafidx').env?.find(
        (e) => e.name === 'KAFIDX_TOKEN',
      )?.valueFrom?.secretKeyRef;
    const secretOf = (objects: readonly KubeObject[]) =>
      objects.find((o) => o.kind === 'Secret' && o.metadata.name === `${RELEASE}-kafidx`) as V1Secret | undefined;

    const generated = render();
    assert.deepEqual(tokenRef(generated), { name: `${RELEASE}-kafidx`, key: 'token' });
    const token = Buffer.from(secretOf(generated)?.data?.['token'] ?? '', 'base64').toString();
    assert.match(token, /^[A-Za-z0-9]{40}$/);

    const given = render({ set: { 'kafidx.token': 'given-token-0123456789' } });
    assert.equal(Buffer.from(secretOf(given)?.data?.['token'] ?? '', 'base64').toString(), 'given-token-0123456789');

    const existing = render({ set: { 'kafidx.existingSecret': 'dashboard-token' } });
    assert.equal(secretOf(existing), undefined);
    assert.deepEqual(tokenRef(existing), { name: 'dashboard-token', key: 'token' });
  });

  it('serves kafidx through its own TLS Ingress when asked, with a Secure cookie', () => {
    const objects = render({ set: { 'ingress.kafidx.enabled': true } });
    const ingress = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === `${RELEASE}-kafidx`) as
      V1Ingress | undefined;
    assert.ok(ingress);
    assert.deepEqual(ingress.spec?.tls, [{ hosts: ['kafidx.example.com'], secretName: 'pushtech-kafidx-tls' }]);
    assert.deepEqual(
      ingress.spec?.rules?.[0]?.http?.paths.map((p) => p.path),
      ['/', '/app.js', '/style.css', '/login', '/logout', '/ws'],
    );
    assert.equal(ingress.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'], '3600');
    const kafidx = containerNamed(workloadNamed(objects, 'Deployment', `${RELEASE}-kafidx`).spec, 'kafidx');
    assert.equal(envValue(kafidx, 'KAFIDX_COOKIE_SECURE'), 'true');
    assert.equal(
      envValue(kafidx, 'KAFIDX_PUBLIC_ORIGIN'),
      'https://kafidx.example.com',
      'sockets from the Ingress origin',
    );
    assert.deepEqual(
      kafidx.ports?.map((p) => p.name),
      ['http', 'ops'],
      '/metrics and the probes on the ops port, which the Ingress does not route',
    );
    assert.equal(kafidx.readinessProbe?.httpGet?.port, 'ops');
    assert.equal(
      envValue(
        containerNamed(workloadNamed(render(), 'Deployment', `${RELEASE}-kafidx`).spec, 'kafidx'),
        'KAFIDX_COOKIE_SECURE',
      ),
      'false',
    );
  });

  it("renders the buffer only for the separate layout, and the consumers' own Redis for consumers with state", () => {
    const statefulSet = (objects: readonly KubeObject[], name: string): boolean =>
      objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === `${RELEASE}-${name}`);
    const noStatefulConsumers = Object.fromEntries(
      ['event_counter', 'metadata_counter', 'stats_collector'].map((c) => [`consumers.list.${c}.enabled`, false]),
    );
    const sidecar = render({ set: { topology: 'sidecar' } });
    assert.equal(statefulSet(sidecar, 'redis'), false, 'no shared buffer in the sidecar layout');
    assert.equal(statefulSet(sidecar, 'consumer-redis'), true, 'consumer state');
    const bare = render({ set: { topology: 'sidecar', ...noStatefulConsumers } });
    assert.equal(statefulSet(bare, 'consumer-redis'), false);
    const separate = render({ set: { topology: 'separate' } });
    assert.equal(statefulSet(separate, 'redis'), true, 'the buffer');
    assert.equal(statefulSet(separate, 'consumer-redis'), true);
    const external = render({
      set: {
        topology: 'separate',
        'redis.externalUrl': 'redis://buffer.internal:6379',
        'consumerRedis.externalUrl': 'redis://state.internal:6379',
      },
    });
    assert.equal(statefulSet(external, 'redis'), false);
    assert.equal(statefulSet(external, 'consumer-redis'), false);
    assert.equal(
      envValue(containerNamed(trackerPod(external), 'tracker'), 'REDIS_URL'),
      'redis://buffer.internal:6379',
    );
    const counter = workloadNamed(external, 'Deployment', `${RELEASE}-consumer-event-counter`).spec;
    assert.equal(envValue(containerNamed(counter, 'consumer'), 'REDIS_URL'), 'redis://state.internal:6379');
  });

  it('points every consumer with state at its own Redis, which only consumers may reach (issue 20)', () => {
    for (const topology of ['separate', 'sidecar']) {
      const objects = render({ set: { topology } });
      const urls = new Map<string, string | undefined>();
      for (const { object, spec } of workloads(objects)) {
        for (const c of spec.containers) urls.set(`${object.metadata.name}/${c.name}`, envValue(c, 'REDIS_URL'));
      }
      const stateful = [...urls].filter(([name]) =>
        /consumer-(event-counter|metadata-counter|stats-collector)\//.test(name),
      );
      assert.equal(stateful.length, 3, [...urls.keys()].join(', '));
      for (const [name, url] of stateful) assert.equal(url, `redis://${RELEASE}-consumer-redis:6379`, name);
      for (const [name, url] of urls) {
        if (url === `redis://${RELEASE}-consumer-redis:6379`) assert.match(name, /^pushtech-consumer-/, name);
      }
      const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${RELEASE}-consumer-redis`);
      const from = JSON.stringify((policy as unknown as { spec: unknown }).spec);
      assert.match(from, /"app.kubernetes.io\/component":"consumer"/);
      assert.doesNotMatch(from, /tracker|kafkastore/);
      if (topology === 'separate') {
        const buffer = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${RELEASE}-redis`);
        assert.doesNotMatch(JSON.stringify((buffer as unknown as { spec: unknown }).spec), /"consumer"/);
      }
    }
  });

  it('prints install notes that match the layout', () => {
    const notesOf = (topology: string): string => helmInstallDryRun({ set: { topology } }).split('\nNOTES:\n')[1] ?? '';
    const sidecar = notesOf('sidecar');
    assert.match(sidecar, /\(sidecar layout\)/);
    assert.match(sidecar, /grace period 90 s/);
    assert.match(sidecar, /kubectl -n pushtech get secret pushtech-kafidx/);
    assert.match(
      notesOf('separate'),
      /Trackers push into the shared Redis redis:\/\/pushtech-redis:6379; 2 kafkastore/,
    );
  });

  it('gives the Deployment its replica count when autoscaling is off', () => {
    const objects = render({ set: { 'tracker.autoscaling.enabled': false, 'tracker.replicas': 7 } });
    assert.equal(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
    const deployment = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).object;
    assert.equal((deployment['spec'] as { replicas?: number }).replicas, 7);
  });
});
