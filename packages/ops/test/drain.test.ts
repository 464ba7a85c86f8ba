import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ok, statusReply, type FakeApiServer, type Reply } from './helpers/fake-api-server.js';
import { runCli, useFakeApiServer } from './helpers/harness.js';
import {
  deployment,
  hpaList,
  metricsText,
  paths,
  pdbList,
  pod,
  podList,
  scaleObject,
  selectors,
  type DeploymentOptions,
  type PodOptions,
} from './helpers/objects.js';

const fake = useFakeApiServer();
const target = 'pushtech-tracker-6d5f8c7b9-aaaaa';
const siblings = ['pushtech-tracker-6d5f8c7b9-bbbbb', 'pushtech-tracker-6d5f8c7b9-ccccc'];
const cost = 'controller.kubernetes.io/pod-deletion-cost';
const fast = ['--interval', '0.001'];

interface Scenario {
  readonly replicas?: number;
  readonly deployment?: DeploymentOptions;
  readonly hpa?: { min: number; max: number };
  readonly pdbMin?: number;
  readonly sidecar?: boolean;
  readonly target?: PodOptions;
  readonly siblings?: PodOptions;
  /** Queue depths kafkastore reports on successive looks once the pod terminates; then the pod is gone. */
  readonly drain?: readonly { queue: number; inFlight: number }[];
  readonly scaleReply?: Reply;
  /** The ReplicaSet removes this sibling instead of the target. */
  readonly removesInstead?: string;
  /** The pod never goes away. */
  readonly stuck?: boolean;
}

/** A cluster whose ReplicaSet reacts to the scale-down like the real one: the marked pod terminates. */
function cluster(scenario: Scenario = {}): FakeApiServer {
  const api = fake.api;
  const replicas = scenario.replicas ?? 3;
  const sidecar = scenario.sidecar ?? true;
  let scaled = false;
  let looks = 0;
  const drain = scenario.drain ?? [
    { queue: 3000, inFlight: 500 },
    { queue: 1200, inFlight: 500 },
    { queue: 0, inFlight: 0 },
  ];
  const targetPod = (terminating: boolean) =>
    pod(target, { sidecar, ...scenario.target, ...(terminating ? { terminating } : {}) });
  const removedInstead = scenario.removesInstead;
  api.on('GET', paths.pod(target), () => {
    if (!scaled || removedInstead !== undefined) return ok(targetPod(false));
    looks += 1;
    if (!scenario.stuck && looks > drain.length) return statusReply(404, 'NotFound', `pods "${target}" not found`);
    return ok(targetPod(true));
  });
  api.on('GET', paths.metrics(target, sidecar ? 8381 : 8380), () => {
    const step = drain[Math.min(looks, drain.length) - 1] ?? { queue: 0, inFlight: 0 };
    return {
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: metricsText(
        sidecar
          ? { pushtech_kafkastore_queue_depth: step.queue, pushtech_kafkastore_processing_depth: step.inFlight }
          : { pushtech_tracker_queue_length: step.queue },
      ),
    };
  });
  api.on('GET', paths.deployment, ok(deployment({ replicas, ...scenario.deployment })));
  api.on('GET', paths.hpas, ok(hpaList(scenario.hpa ? [{ name: 'pushtech-tracker', ...scenario.hpa }] : [])));
  api.on(
    'GET',
    paths.pdbs,
    ok(pdbList(scenario.pdbMin === undefined ? [] : [{ name: 'pushtech-tracker', minAvailable: scenario.pdbMin }])),
  );
  api.on('GET', paths.pods, () =>
    ok(
      podList([
        targetPod(false),
        ...siblings.map((name) =>
          pod(name, {
            sidecar,
            ...scenario.siblings,
            ...(scaled && name === removedInstead ? { terminating: true } : {}),
          }),
        ),
      ]),
    ),
  );
  api.on('PATCH', paths.pod(target), ok(targetPod(false)));
  api.on('PATCH', paths.scale, () => {
    if (scenario.scaleReply) return scenario.scaleReply;
    scaled = true;
    return ok(scaleObject(replicas - 1));
  });
  return api;
}

const preflight = [
  `GET ${paths.pod(target)}`,
  `GET ${paths.deployment}`,
  `GET ${paths.hpas}`,
  `GET ${paths.pdbs}`,
  `GET ${paths.pods}`,
];

describe('drain <pod>', () => {
  test('marks the pod, scales the Deployment down by one with a precondition, and follows the pod’s queue until it is gone', async () => {
    const api = cluster({ hpa: { min: 1, max: 10 }, pdbMin: 1 });
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(result.err, []);
    assert.deepEqual(result.out.slice(0, -1), [
      `marked pod pushtech/${target} to go first (${cost}=-2147483648).`,
      `scaled Deployment pushtech/pushtech-tracker from 3 to 2; following pod ${target} until it is gone.`,
      `draining ${target}: queue 3000, in flight 500`,
      `draining ${target}: queue 1200, in flight 500`,
      `draining ${target}: queue 0, in flight 0`,
    ]);
    assert.match(result.out.at(-1) ?? '', new RegExp(`^pod pushtech/${target} is gone \\(\\d+ s\\)\\.$`));

    const metrics = `GET ${paths.metrics(target, 8381)}`;
    assert.deepEqual(api.calls(), [
      ...preflight,
      `PATCH ${paths.pod(target)}`,
      `PATCH ${paths.scale}`,
      `GET ${paths.pods}`,
      `GET ${paths.pod(target)}`,
      metrics,
      `GET ${paths.pod(target)}`,
      metrics,
      `GET ${paths.pod(target)}`,
      metrics,
      `GET ${paths.pod(target)}`,
    ]);
    const [, , , , list, annotate, scale] = api.requests;
    assert.deepEqual(list?.query, { labelSelector: selectors.tracker });
    assert.equal(annotate?.contentType, 'application/merge-patch+json');
    assert.deepEqual(annotate?.body, { metadata: { annotations: { [cost]: '-2147483648' } } });
    assert.equal(scale?.contentType, 'application/merge-patch+json');
    assert.deepEqual(scale?.body, { metadata: { resourceVersion: '4711' }, spec: { replicas: 2 } });
  });

  test('separate layout: reads the tracker’s own queue gauge', async () => {
    cluster({ sidecar: false, drain: [{ queue: 40, inFlight: 0 }] });
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal(result.out[2], `draining ${target}: queue 40`);
  });

  test('a pod already terminating is only followed', async () => {
    const api = fake.api;
    let looks = 0;
    api.on('GET', paths.pod(target), () =>
      looks++ < 2 ? ok(pod(target, { sidecar: true, terminating: true })) : statusReply(404, 'NotFound', 'gone'),
    );
    api.on('GET', paths.metrics(target, 8381), {
      status: 200,
      contentType: 'text/plain',
      body: metricsText({ pushtech_kafkastore_queue_depth: 9, pushtech_kafkastore_processing_depth: 1 }),
    });
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal(result.out[0], `pod pushtech/${target} is already terminating; following it until it is gone.`);
    assert.equal(result.out[1], `draining ${target}: queue 9, in flight 1`);
    assert.ok(
      api.requests.every((r) => r.method === 'GET'),
      'nothing written',
    );
  });

  const refusals: {
    name: string;
    scenario: Scenario;
    args?: string[];
    error: RegExp;
    calls: number;
  }[] = [
    {
      name: 'a pod of another component',
      scenario: { target: { component: 'redis' } },
      error:
        /^pushtech: refusing to drain pushtech\/pushtech-tracker-6d5f8c7b9-aaaaa: it is not a tracker pod of release "pushtech" \(app\.kubernetes\.io\/name=pushtech, app\.kubernetes\.io\/instance=pushtech, app\.kubernetes\.io\/component=redis\); drain removes tracker pods only/,
      calls: 1,
    },
    {
      name: 'a tracker pod of another release',
      scenario: { target: { extraLabels: { 'app.kubernetes.io/instance': 'staging' } } },
      error: /not a tracker pod of release "pushtech" \(.*instance=staging/,
      calls: 1,
    },
    {
      name: 'a tracker pod not owned by the Deployment’s ReplicaSet',
      scenario: { target: { owner: 'hand-made-rs' } },
      error: /it is not managed by Deployment pushtech-tracker \(owner: ReplicaSet hand-made-rs\)/,
      calls: 1,
    },
    {
      name: 'the last tracker pod',
      scenario: { replicas: 1 },
      error: /it is the last tracker pod of Deployment pushtech-tracker.*Pass --force to do it anyway\.$/,
      calls: 4,
    },
    {
      name: 'going below the HPA minimum',
      scenario: { replicas: 3, hpa: { min: 3, max: 10 } },
      error:
        /HorizontalPodAutoscaler pushtech-tracker keeps at least 3 tracker pods and would start a replacement right away\. Lower its minimum first \(`scale tracker 2`\), or pass --force/,
      calls: 4,
    },
    {
      name: 'going below a PodDisruptionBudget',
      scenario: { replicas: 3, pdbMin: 3 },
      error: /PodDisruptionBudget pushtech-tracker wants at least 3 tracker pods available, and 2 would be left/,
      calls: 4,
    },
    {
      name: 'a rollout in progress',
      scenario: { deployment: { updatedReplicas: 1, statusReplicas: 4 } },
      error:
        /Deployment pushtech-tracker is rolling out or scaling \(wants 3, has 4 pods, 1 up to date\).*kubectl rollout status -n pushtech deployment\/pushtech-tracker/,
      calls: 2,
    },
    {
      name: 'another tracker pod not ready (the ReplicaSet would remove it first)',
      scenario: { siblings: { ready: false } },
      error:
        /pods pushtech-tracker-6d5f8c7b9-bbbbb, pushtech-tracker-6d5f8c7b9-ccccc of Deployment pushtech-tracker are not ready, and a ReplicaSet removes not-ready pods before any other/,
      calls: 5,
    },
    {
      name: 'another tracker pod already marked',
      scenario: { siblings: { annotations: { [cost]: '-2147483648' } } },
      error:
        /pods pushtech-tracker-6d5f8c7b9-bbbbb, pushtech-tracker-6d5f8c7b9-ccccc already carry controller\.kubernetes\.io\/pod-deletion-cost=-2147483648/,
      calls: 5,
    },
  ];
  for (const refusal of refusals) {
    test(`refuses ${refusal.name}, writing nothing`, async () => {
      const api = cluster(refusal.scenario);
      const result = await runCli(['drain', target, ...fast, ...(refusal.args ?? [])]);
      assert.equal(result.code, 1);
      assert.deepEqual(result.out, []);
      assert.equal(result.err.length, 1);
      assert.match(result.err[0] ?? '', refusal.error);
      assert.deepEqual(api.calls(), preflight.slice(0, refusal.calls));
    });
  }

  test('--force drains the last pod (scale to 0)', async () => {
    const api = cluster({ replicas: 1, drain: [{ queue: 0, inFlight: 0 }] });
    const result = await runCli(['drain', target, '--force', ...fast]);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(api.requests.find((r) => r.method === 'PATCH' && r.path === paths.scale)?.body, {
      metadata: { resourceVersion: '4711' },
      spec: { replicas: 0 },
    });
  });

  test('a conflict (409) on the scale puts the annotation back and says to run again', async () => {
    const api = cluster({
      scaleReply: statusReply(
        409,
        'Conflict',
        'Operation cannot be fulfilled on deployments.apps "pushtech-tracker": the object has been modified; please apply your changes to the latest version and try again',
      ),
    });
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      'pushtech: scaling Deployment pushtech/pushtech-tracker to 2 failed: conflict (409): Operation cannot be fulfilled on deployments.apps "pushtech-tracker": the object has been modified; please apply your changes to the latest version and try again. The Deployment changed after it was read (another client or the HPA scaled it); nothing was scaled and the pod’s annotation was put back. Run drain again.',
    ]);
    assert.deepEqual(api.calls(), [
      ...preflight,
      `PATCH ${paths.pod(target)}`,
      `PATCH ${paths.scale}`,
      `PATCH ${paths.pod(target)}`,
    ]);
    assert.deepEqual(api.requests.at(-1)?.body, { metadata: { annotations: { [cost]: null } } });
  });

  test('a forbidden (403) annotation stops before anything is scaled', async () => {
    const api = cluster();
    api.on(
      'PATCH',
      paths.pod(target),
      statusReply(
        403,
        'Forbidden',
        `pods "${target}" is forbidden: User "dev" cannot patch resource "pods" in API group "" in the namespace "pushtech"`,
      ),
    );
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      `pushtech: annotating pod pushtech/${target} failed: forbidden (403): pods "${target}" is forbidden: User "dev" cannot patch resource "pods" in API group "" in the namespace "pushtech". The account of context fake lacks a permission: grant it the RBAC listed in packages/ops/README.md, or use another --context.`,
    ]);
    assert.ok(!api.calls().includes(`PATCH ${paths.scale}`));
  });

  test('says so when the ReplicaSet removed another pod, and unmarks the target', async () => {
    const api = cluster({ removesInstead: siblings[0] });
    const result = await runCli(['drain', target, ...fast]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      `pushtech: the Deployment removed pod ${siblings[0]} instead of pushtech/${target}, which keeps running. Run drain again to remove it too.`,
    ]);
    assert.deepEqual(api.requests.at(-1)?.body, { metadata: { annotations: { [cost]: null } } });
  });

  test('gives up after --timeout, leaving the scale-down applied', async () => {
    cluster({ stuck: true, drain: [{ queue: 5, inFlight: 5 }] });
    const result = await runCli(['drain', target, '--timeout', '1', '--interval', '0.05']);
    assert.equal(result.code, 1);
    assert.match(
      result.err[0] ?? '',
      new RegExp(
        `^pushtech: pod pushtech/${target} still exists 1 s later \\(Terminating\\)\\. .*the scale-down stays applied`,
      ),
    );
    assert.equal(result.out.filter((l) => l.startsWith('draining')).length, 1, 'an unchanged depth is printed once');
  });

  test('Ctrl-C stops following (exit 130) and says the pod goes on draining', async () => {
    cluster({ stuck: true });
    const interrupt = new AbortController();
    const result = await runCli(['drain', target, ...fast], {
      signal: interrupt.signal,
      onOut: (line) => {
        if (line.startsWith('draining')) interrupt.abort();
      },
    });
    assert.equal(result.code, 130);
    assert.deepEqual(result.err, [
      `pushtech: stopped following pod pushtech/${target}; whatever was started goes on in the cluster. Follow it with \`kubectl get pod -n pushtech ${target} -w\`.`,
    ]);
  });

  test('Ctrl-C before the pod is marked changes nothing', async () => {
    const api = cluster();
    const interrupt = new AbortController();
    const list = podList([pod(target, { sidecar: true }), ...siblings.map((name) => pod(name, { sidecar: true }))]);
    api.on('GET', paths.pods, () => {
      interrupt.abort();
      return ok(list);
    });
    const result = await runCli(['drain', target, ...fast], { signal: interrupt.signal });
    assert.deepEqual(result, {
      code: 130,
      out: [],
      err: [`pushtech: interrupted before anything was changed; pod pushtech/${target} keeps running.`],
    });
    assert.deepEqual(api.calls(), preflight);
  });

  test('an unknown pod names the namespace and points at status', async () => {
    fake.api.on('GET', paths.pod('nope'), statusReply(404, 'NotFound', 'pods "nope" not found'));
    const result = await runCli(['drain', 'nope']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.err, [
      'pushtech: reading pod pushtech/nope failed: not found (404): pods "nope" not found. Check the pod name and --namespace (context fake); `status` lists the tracker pods.',
    ]);
  });
});
