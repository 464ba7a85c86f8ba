import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type V1Deployment,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1Scale,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { explainApiError, type ClusterTarget } from './api-errors.js';
import { OpsError, describeError } from './errors.js';

/** The API calls the commands make; one place, so the RBAC in the README is easy to check. */
export interface OpsCluster {
  readonly target: ClusterTarget;
  readDeployment(namespace: string, name: string): Promise<V1Deployment>;
  /** A merge patch of the scale subresource; with resourceVersion the API server refuses (409) a stale write. */
  scaleDeployment(namespace: string, name: string, replicas: number, resourceVersion?: string): Promise<V1Scale>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  readPod(namespace: string, name: string): Promise<V1Pod>;
  /** A null value removes the annotation (merge-patch semantics). */
  annotatePod(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<V1Pod>;
  listHorizontalPodAutoscalers(namespace: string): Promise<V2HorizontalPodAutoscaler[]>;
  setHorizontalPodAutoscalerMinimum(
    namespace: string,
    name: string,
    minReplicas: number,
  ): Promise<V2HorizontalPodAutoscaler>;
  listPodDisruptionBudgets(namespace: string): Promise<V1PodDisruptionBudget[]>;
  /** A pod's /metrics through the API server's pod proxy, so the CLI works from outside the cluster. */
  podMetrics(namespace: string, pod: string, port: number): Promise<string>;
}

export interface ConnectOptions {
  /** A kubeconfig context; the kubeconfig's current context when absent. */
  readonly context?: string | undefined;
  readonly requestTimeoutMs?: number;
  readonly metricsTimeoutMs?: number;
}

const userAgent = 'pushtech-ops/0.1.0';

/**
 * Loads the kubeconfig the way kubectl does (KUBECONFIG, else ~/.kube/config, else the in-cluster
 * service account) and builds the API clients for one context.
 */
export function connect(options: ConnectOptions = {}): OpsCluster {
  // KubeConfig.loadFromDefault reads KUBECONFIG itself; read here only to name the source in errors.
  const source = process.env['KUBECONFIG'] ? `KUBECONFIG=${process.env['KUBECONFIG']}` : '~/.kube/config';
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (error: unknown) {
    throw new OpsError('kubeconfig', `cannot load the kubeconfig (${source}): ${describeError(error)}`, {
      cause: error,
    });
  }
  // loadFromDefault falls back to an unauthenticated localhost:8080 when it finds nothing at all.
  if (kc.getCurrentContext() === 'loaded-context') {
    throw new OpsError(
      'kubeconfig',
      `no kubeconfig found (${source}): set KUBECONFIG or create ~/.kube/config (e.g. \`minikube start\`)`,
    );
  }
  const known = kc.getContexts().map((c) => c.name);
  if (options.context !== undefined) {
    if (kc.getContextObject(options.context) === null) {
      throw new OpsError(
        'kubeconfig',
        `context ${JSON.stringify(options.context)} is not in the kubeconfig (${source}); it has: ${known.join(', ') || 'none'}`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new OpsError(
      'kubeconfig',
      `the kubeconfig (${source}) has no usable current context (${JSON.stringify(kc.getCurrentContext())}); pass --context (contexts: ${known.join(', ') || 'none'})`,
    );
  }
  const target: ClusterTarget = { context: kc.getCurrentContext(), server: cluster.server };
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const metricsTimeoutMs = options.metricsTimeoutMs ?? 5_000;
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const autoscaling = kc.makeApiClient(AutoscalingV2Api);
  const policy = kc.makeApiClient(PolicyV1Api);

  const call = async <T>(
    action: string,
    timeoutMs: number,
    run: (o: ConfigurationOptions) => Promise<T>,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<T> => {
    try {
      return await run(requestOptions(timeoutMs, headers));
    } catch (error: unknown) {
      throw explainApiError(error, action, target, timeoutMs);
    }
  };
  // The generated client would send the first patch type it knows (JSON Patch) without this.
  const mergePatch = { 'Content-Type': PatchStrategy.MergePatch };

  return {
    target,
    readDeployment: (namespace, name) =>
      call(`reading Deployment ${namespace}/${name}`, requestTimeoutMs, (o) =>
        apps.readNamespacedDeployment({ name, namespace }, o),
      ),
    scaleDeployment: (namespace, name, replicas, resourceVersion) =>
      call(
        `scaling Deployment ${namespace}/${name} to ${replicas}`,
        requestTimeoutMs,
        (o) =>
          apps.patchNamespacedDeploymentScale(
            {
              name,
              namespace,
              body: {
                ...(resourceVersion === undefined ? {} : { metadata: { resourceVersion } }),
                spec: { replicas },
              },
            },
            o,
          ),
        mergePatch,
      ),
    listPods: async (namespace, labelSelector) =>
      (
        await call(`listing pods in namespace ${namespace} (${labelSelector})`, requestTimeoutMs, (o) =>
          core.listNamespacedPod({ namespace, labelSelector }, o),
        )
      ).items,
    readPod: (namespace, name) =>
      call(`reading pod ${namespace}/${name}`, requestTimeoutMs, (o) => core.readNamespacedPod({ name, namespace }, o)),
    annotatePod: (namespace, name, annotations) =>
      call(
        `annotating pod ${namespace}/${name}`,
        requestTimeoutMs,
        (o) => core.patchNamespacedPod({ name, namespace, body: { metadata: { annotations } } }, o),
        mergePatch,
      ),
    listHorizontalPodAutoscalers: async (namespace) =>
      (
        await call(`listing HorizontalPodAutoscalers in namespace ${namespace}`, requestTimeoutMs, (o) =>
          autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }, o),
        )
      ).items,
    setHorizontalPodAutoscalerMinimum: (namespace, name, minReplicas) =>
      call(
        `setting minReplicas of HorizontalPodAutoscaler ${namespace}/${name} to ${minReplicas}`,
        requestTimeoutMs,
        (o) =>
          autoscaling.patchNamespacedHorizontalPodAutoscaler({ name, namespace, body: { spec: { minReplicas } } }, o),
        mergePatch,
      ),
    listPodDisruptionBudgets: async (namespace) =>
      (
        await call(`listing PodDisruptionBudgets in namespace ${namespace}`, requestTimeoutMs, (o) =>
          policy.listNamespacedPodDisruptionBudget({ namespace }, o),
        )
      ).items,
    podMetrics: (namespace, pod, port) =>
      call(`reading metrics of pod ${namespace}/${pod} port ${port}`, metricsTimeoutMs, (o) =>
        core.connectGetNamespacedPodProxyWithPath({ name: `${pod}:${port}`, namespace, path: 'metrics' }, o),
      ),
  };
}

/**
 * Per-request options: a User-Agent (audit logs show who scaled), extra headers (the patch
 * content type), and a deadline so a hung API server cannot hang the CLI.
 */
function requestOptions(timeoutMs: number, headers: Readonly<Record<string, string>> = {}): ConfigurationOptions {
  const [first, ...rest] = [['User-Agent', userAgent] as const, ...Object.entries(headers)].map(([key, value]) =>
    setHeaderMiddleware(key, value),
  );
  if (first === undefined) return {};
  const withDeadline = {
    pre: (context: Parameters<typeof first.pre>[0]) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return first.pre(context);
    },
    post: (context: Parameters<typeof first.post>[0]) => first.post(context),
  };
  return { middleware: [withDeadline, ...rest], middlewareMergeStrategy: 'append' };
}
