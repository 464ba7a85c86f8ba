import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ok, statusReply } from './helpers/fake-api-server.js';
import { runCli, useFakeApiServer } from './helpers/harness.js';
import { deployment, hpaList, paths, pdbList, scaleObject } from './helpers/objects.js';

const fake = useFakeApiServer();

function cluster(options: { replicas?: number; hpa?: { min: number; max: number }; pdbMin?: number | string } = {}) {
  const api = fake.api;
  api.on('GET', paths.deployment, ok(deployment({ replicas: options.replicas ?? 3 })));
  api.on('GET', paths.hpas, ok(hpaList(options.hpa ? [{ name: 'pushtech-tracker', ...options.hpa }] : [])));
  api.on(
    'GET',
    paths.pdbs,
    ok(pdbList(options.pdbMin === undefined ? [] : [{ name: 'pushtech-tracker', minAvailable: options.pdbMin }])),
  );
  api.on('PATCH', paths.scale, (request) => {
    const body = request.body as { spec: { replicas: number } };
    return ok(scaleObject(body.spec.replicas));
  });
  api.on('PATCH', paths.hpa('pushtech-tracker'), ok({}));
  return api;
}

const lookups = [`GET ${paths.deployment}`, `GET ${paths.hpas}`, `GET ${paths.pdbs}`];

describe('scale tracker <n>', () => {
  test('without an HPA, merge-patches the scale subresource of the tracker Deployment', async () => {
    const api = cluster({ replicas: 3 });
    const result = await runCli(['scale', 'tracker', '5']);
    assert.deepEqual(result, {
      code: 0,
      out: ['scaled Deployment pushtech/pushtech-tracker from 3 to 5 tracker pods.'],
      err: [],
    });
    assert.deepEqual(api.calls(), [...lookups, `PATCH ${paths.scale}`]);
    const patch = api.requests[3];
    assert.equal(patch?.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch?.body, { spec: { replicas: 5 } });
    assert.deepEqual(patch?.query, {});
    for (const request of api.requests) {
      assert.equal(
        request.authorization,
        'Bearer test-token',
        `${request.method} ${request.path} carries the kubeconfig token`,
      );
      assert.equal(request.userAgent, 'pushtech-ops/0.1.0');
    }
  });

  test('scaling down says how the removed pods end and points at drain', async () => {
    const api = cluster({ replicas: 4 });
    const result = await runCli(['scale', 'tracker', '2']);
    assert.equal(result.code, 0);
    assert.equal(result.out[0], 'scaled Deployment pushtech/pushtech-tracker from 4 to 2 tracker pods.');
    assert.match(result.out[1] ?? '', /drain <pod>/);
    assert.deepEqual(api.requests.at(-1)?.body, { spec: { replicas: 2 } });
  });

  test('--namespace and --release choose the Deployment', async () => {
    const api = fake.api;
    const base = '/apis/apps/v1/namespaces/edge';
    api.on('GET', `${base}/deployments/eu-tracker`, ok(deployment({ replicas: 1 })));
    api.on('GET', '/apis/autoscaling/v2/namespaces/edge/horizontalpodautoscalers', ok(hpaList([])));
    api.on('GET', '/apis/policy/v1/namespaces/edge/poddisruptionbudgets', ok(pdbList([])));
    api.on('PATCH', `${base}/deployments/eu-tracker/scale`, ok(scaleObject(2)));
    const result = await runCli(['scale', 'tracker', '2', '--namespace', 'edge', '--release', 'eu']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal(api.calls().at(-1), `PATCH ${base}/deployments/eu-tracker/scale`);
  });

  test('the same count changes nothing', async () => {
    const api = cluster({ replicas: 3 });
    const result = await runCli(['scale', 'tracker', '3']);
    assert.equal(result.code, 0);
    assert.deepEqual(result.out, [
      'Deployment pushtech/pushtech-tracker already wants 3 tracker pods; nothing changed.',
    ]);
    assert.deepEqual(api.calls(), lookups);
  });

  test('refuses 0 without --force, and writes nothing', async () => {
    const api = cluster({ replicas: 3 });
    const result = await runCli(['scale', 'tracker', '0']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.out, []);
    assert.deepEqual(result.err, [
      'pushtech: refusing to scale pushtech/pushtech-tracker to 0: no tracker pod would accept events, so clients get errors and nothing is stored. Pass --force to do it anyway.',
    ]);
    assert.deepEqual(api.calls(), lookups);
  });

  test('scales to 0 with --force', async () => {
    const api = cluster({ replicas: 3 });
    const result = await runCli(['scale', 'tracker', '0', '--force']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(api.requests.at(-1)?.body, { spec: { replicas: 0 } });
  });

  test('refuses to go below a PodDisruptionBudget minAvailable without --force', async () => {
    const api = cluster({ replicas: 4, pdbMin: 2 });
    const refused = await runCli(['scale', 'tracker', '1']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err[0] ?? '',
      /^pushtech: refusing to scale pushtech\/pushtech-tracker to 1: PodDisruptionBudget pushtech-tracker wants at least 2 tracker pods available/,
    );
    assert.deepEqual(api.calls(), lookups);
    const forced = await runCli(['scale', 'tracker', '1', '--force']);
    assert.equal(forced.code, 0, forced.err.join('\n'));
    assert.deepEqual(api.requests.at(-1)?.body, { spec: { replicas: 1 } });
  });

  test('a percentage minAvailable never blocks (it shrinks with the Deployment)', async () => {
    cluster({ replicas: 4, pdbMin: '50%' });
    const result = await runCli(['scale', 'tracker', '1']);
    assert.equal(result.code, 0, result.err.join('\n'));
  });

  test('with an HPA, sets its minReplicas instead of the Deployment (the HPA would undo a direct scale)', async () => {
    const api = cluster({ replicas: 2, hpa: { min: 2, max: 10 } });
    const result = await runCli(['scale', 'tracker', '6']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(api.calls(), [...lookups, `PATCH ${paths.hpa('pushtech-tracker')}`]);
    const patch = api.requests.at(-1);
    assert.equal(patch?.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch?.body, { spec: { minReplicas: 6 } });
    assert.deepEqual(result.out, [
      'HorizontalPodAutoscaler pushtech-tracker manages pushtech/pushtech-tracker: set its minReplicas 2 -> 6; it now keeps 6..10 tracker pods (2 now).',
      'The HPA adds the missing pods at its next sync (about 15 s).',
      'A `helm upgrade` resets minReplicas to the chart value; put the new minimum in the Helm values to keep it.',
    ]);
  });

  test('with an HPA, refuses more than its maxReplicas and 0 even with --force', async () => {
    const api = cluster({ replicas: 2, hpa: { min: 2, max: 10 } });
    const tooMany = await runCli(['scale', 'tracker', '11']);
    assert.equal(tooMany.code, 1);
    assert.match(
      tooMany.err[0] ?? '',
      /its maxReplicas is 10\. Raise maxReplicas \(Helm values\) first, or ask for at most 10\./,
    );
    const zero = await runCli(['scale', 'tracker', '0', '--force']);
    assert.equal(zero.code, 1);
    assert.match(zero.err[0] ?? '', /HorizontalPodAutoscaler pushtech-tracker manages it and cannot hold 0 pods/);
    assert.ok(
      api.requests.every((r) => r.method === 'GET'),
      'nothing was written',
    );
  });

  test('an HPA targeting another Deployment is ignored', async () => {
    const api = cluster({ replicas: 2 });
    api.on('GET', paths.hpas, ok(hpaList([{ name: 'kafidx', min: 1, max: 3, target: 'pushtech-kafidx' }])));
    const result = await runCli(['scale', 'tracker', '3']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal(api.calls().at(-1), `PATCH ${paths.scale}`);
  });

  test('a missing tracker Deployment names the release and namespace that were tried', async () => {
    const api = fake.api;
    api.on('GET', paths.deployment, statusReply(404, 'NotFound', 'deployments.apps "pushtech-tracker" not found'));
    const result = await runCli(['scale', 'tracker', '3']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      'pushtech: reading Deployment pushtech/pushtech-tracker failed: not found (404): deployments.apps "pushtech-tracker" not found. Is the release called "pushtech" (--release) and installed in namespace pushtech (--namespace) of context fake?',
    ]);
  });
});
