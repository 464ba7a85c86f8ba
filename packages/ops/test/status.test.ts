import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ok, statusReply } from './helpers/fake-api-server.js';
import { runCli, useFakeApiServer } from './helpers/harness.js';
import { deployment, hpaList, metricsText, paths, pdbList, pod, podList, selectors } from './helpers/objects.js';

const fake = useFakeApiServer();

describe('status', () => {
  test('separate layout: pods per component, ready counts, each tracker pod’s queue from its /metrics', async () => {
    const api = fake.api;
    api.on(
      'GET',
      paths.pods,
      ok(
        podList([
          pod('pushtech-kafidx-5c9-aaaaa', { component: 'kafidx' }),
          pod('pushtech-tracker-6d5f8c7b9-bbbbb'),
          pod('pushtech-tracker-6d5f8c7b9-aaaaa'),
          pod('pushtech-tracker-6d5f8c7b9-ccccc', { ready: false }),
          pod('pushtech-redis-0', { component: 'redis' }),
          pod('pushtech-kafkastore-7f-aaaaa', { component: 'kafkastore' }),
          pod('pushtech-kafkastore-7f-bbbbb', { component: 'kafkastore', terminating: true, ready: false }),
          pod('pushtech-consumer-event-counter-1', { component: 'consumer' }),
          pod('pushtech-kafka-topics-0c00c071-x', { component: 'kafka-topics', phase: 'Succeeded', ready: false }),
        ]),
      ),
    );
    api.on('GET', paths.deployment, ok(deployment({ replicas: 3 })));
    api.on('GET', paths.hpas, ok(hpaList([{ name: 'pushtech-tracker', min: 2, max: 10 }])));
    api.on('GET', paths.pdbs, ok(pdbList([{ name: 'pushtech-tracker', minAvailable: 1 }])));
    const depth: Record<string, number> = { aaaaa: 12, bbbbb: 0 };
    for (const suffix of ['aaaaa', 'bbbbb']) {
      api.on('GET', paths.metrics(`pushtech-tracker-6d5f8c7b9-${suffix}`, 8380), {
        status: 200,
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: metricsText({
          pushtech_tracker_queue_length: depth[suffix] ?? -1,
          pushtech_tracker_in_flight_requests: 3,
        }),
      });
    }
    api.on(
      'GET',
      paths.metrics('pushtech-tracker-6d5f8c7b9-ccccc', 8380),
      statusReply(
        503,
        'ServiceUnavailable',
        'error trying to reach service: dial tcp 10.0.0.1:8380: connect: connection refused',
      ),
    );

    const result = await runCli(['status']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(result.out, [
      'release pushtech in namespace pushtech (context fake)',
      '',
      'COMPONENT     READY',
      'tracker       2/3',
      'redis         1/1',
      'kafkastore    1/1    1 terminating',
      'kafka-topics  0/0    1 completed',
      'consumer      1/1',
      'kafidx        1/1',
      '',
      'tracker: Deployment pushtech-tracker wants 3, 3 ready, 3 up to date, HPA pushtech-tracker keeps 2..10, PDB pushtech-tracker minAvailable 1',
      '',
      'TRACKER POD                       READY  STATUS   QUEUE',
      'pushtech-tracker-6d5f8c7b9-aaaaa  yes    Running  12',
      'pushtech-tracker-6d5f8c7b9-bbbbb  yes    Running  0',
      'pushtech-tracker-6d5f8c7b9-ccccc  no     Running  ?',
      '  pushtech-tracker-6d5f8c7b9-ccccc: queue depth unknown: service unavailable (503): error trying to reach service: dial tcp 10.0.0.1:8380: connect: connection refused',
    ]);

    const [list] = api.requests;
    assert.equal(list?.path, paths.pods);
    assert.deepEqual(list?.query, { labelSelector: selectors.release });
    const metricsCalls = api
      .calls()
      .filter((c) => c.includes('/proxy/'))
      .sort();
    assert.deepEqual(metricsCalls, [
      `GET ${paths.metrics('pushtech-tracker-6d5f8c7b9-aaaaa', 8380)}`,
      `GET ${paths.metrics('pushtech-tracker-6d5f8c7b9-bbbbb', 8380)}`,
      `GET ${paths.metrics('pushtech-tracker-6d5f8c7b9-ccccc', 8380)}`,
    ]);
    assert.ok(
      api.requests.every((r) => r.method === 'GET'),
      'status only reads',
    );
  });

  test('sidecar layout: the queue and the batch in flight come from the kafkastore container of each tracker pod', async () => {
    const api = fake.api;
    api.on('GET', paths.pods, ok(podList([pod('pushtech-tracker-6d5f8c7b9-aaaaa', { sidecar: true })])));
    api.on('GET', paths.deployment, ok(deployment({ replicas: 1 })));
    api.on('GET', paths.hpas, ok(hpaList([])));
    api.on('GET', paths.pdbs, ok(pdbList([])));
    api.on('GET', paths.metrics('pushtech-tracker-6d5f8c7b9-aaaaa', 8381), {
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: metricsText({ pushtech_kafkastore_queue_depth: 4200, pushtech_kafkastore_processing_depth: 500 }),
    });
    const result = await runCli(['status']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(result.out.slice(-2), [
      'TRACKER POD                       READY  STATUS   QUEUE  IN FLIGHT',
      'pushtech-tracker-6d5f8c7b9-aaaaa  yes    Running  4200   500',
    ]);
    assert.ok(!api.calls().some((c) => c.includes('%3A8380')), 'the tracker is not asked when kafkastore answered');
  });

  test('sidecar layout: falls back to the tracker’s gauge when kafkastore does not answer', async () => {
    const api = fake.api;
    api.on('GET', paths.pods, ok(podList([pod('pushtech-tracker-6d5f8c7b9-aaaaa', { sidecar: true })])));
    api.on('GET', paths.deployment, ok(deployment({ replicas: 1 })));
    api.on('GET', paths.hpas, ok(hpaList([])));
    api.on('GET', paths.pdbs, ok(pdbList([])));
    api.on(
      'GET',
      paths.metrics('pushtech-tracker-6d5f8c7b9-aaaaa', 8381),
      statusReply(503, 'ServiceUnavailable', 'no endpoint'),
    );
    api.on('GET', paths.metrics('pushtech-tracker-6d5f8c7b9-aaaaa', 8380), {
      status: 200,
      contentType: 'text/plain; version=0.0.4',
      body: metricsText({ pushtech_tracker_queue_length: 77 }),
    });
    const result = await runCli(['status']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal(result.out.at(-1), 'pushtech-tracker-6d5f8c7b9-aaaaa  yes    Running  77');
  });

  test('no pods of the release is an error naming the selector', async () => {
    fake.api.on('GET', paths.pods, ok(podList([])));
    const result = await runCli(['status', '--release', 'staging']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      'pushtech: no pods of release "staging" in namespace pushtech (context fake, selector app.kubernetes.io/name=pushtech,app.kubernetes.io/instance=staging). Check --release, --namespace and --context.',
    ]);
  });

  test('without a tracker Deployment the components are still listed', async () => {
    const api = fake.api;
    api.on('GET', paths.pods, ok(podList([pod('pushtech-redis-0', { component: 'redis' })])));
    api.on('GET', paths.deployment, statusReply(404, 'NotFound', 'deployments.apps "pushtech-tracker" not found'));
    const result = await runCli(['status']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(result.out.slice(2), [
      'COMPONENT  READY',
      'redis      1/1',
      '',
      'tracker: no Deployment pushtech-tracker',
    ]);
  });
});
