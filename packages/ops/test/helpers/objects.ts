/** Kubernetes objects as the API server returns them, labelled as the Helm chart labels them. */
export const namespace = 'pushtech';
export const release = 'pushtech';
export const deploymentName = 'pushtech-tracker';
export const templateHash = '6d5f8c7b9';

const labels = (component: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'pushtech',
  'app.kubernetes.io/instance': release,
  'app.kubernetes.io/component': component,
});

export interface PodOptions {
  readonly component?: string;
  readonly ready?: boolean;
  readonly terminating?: boolean;
  readonly sidecar?: boolean;
  readonly annotations?: Record<string, string>;
  readonly owner?: string | null;
  readonly uid?: string;
  readonly extraLabels?: Record<string, string>;
  readonly phase?: string;
}

export function pod(name: string, options: PodOptions = {}): Record<string, unknown> {
  const component = options.component ?? 'tracker';
  const isTracker = component === 'tracker';
  const owner = options.owner === undefined ? `${deploymentName}-${templateHash}` : options.owner;
  const containers: Record<string, unknown>[] = [
    {
      name: component,
      image: `ghcr.io/pushtech/${component}:0.1.0`,
      ports: [{ name: 'http', containerPort: isTracker ? 8380 : 8381 }],
    },
  ];
  // As helm/pushtech renders the sidecar layout: Redis and kafkastore are native sidecars.
  const initContainers: Record<string, unknown>[] =
    isTracker && options.sidecar
      ? [
          { name: 'redis', image: 'redis:7', restartPolicy: 'Always', ports: [{ name: 'redis', containerPort: 6379 }] },
          {
            name: 'kafkastore',
            image: 'ghcr.io/pushtech/kafkastore:0.1.0',
            restartPolicy: 'Always',
            ports: [{ name: 'ops', containerPort: 8381 }],
          },
        ]
      : [];
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace,
      uid: options.uid ?? `uid-${name}`,
      labels: {
        ...labels(component),
        ...(isTracker ? { 'pod-template-hash': templateHash } : {}),
        ...options.extraLabels,
      },
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.terminating ? { deletionTimestamp: '2025-11-23T12:00:00Z', deletionGracePeriodSeconds: 90 } : {}),
      ...(owner === null
        ? {}
        : {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: 'rs-uid', controller: true },
            ],
          }),
    },
    spec: { containers, ...(initContainers.length > 0 ? { initContainers } : {}) },
    status: {
      phase: options.phase ?? 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

export function podList(items: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '900' }, items };
}

export interface DeploymentOptions {
  readonly replicas?: number;
  readonly statusReplicas?: number;
  readonly updatedReplicas?: number;
  readonly resourceVersion?: string;
}

export function deployment(options: DeploymentOptions = {}): Record<string, unknown> {
  const replicas = options.replicas ?? 3;
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: {
      name: deploymentName,
      namespace,
      generation: 4,
      resourceVersion: options.resourceVersion ?? '4711',
      labels: labels('tracker'),
    },
    spec: {
      replicas,
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'pushtech',
          'app.kubernetes.io/instance': release,
          'app.kubernetes.io/component': 'tracker',
        },
      },
      template: {
        metadata: { labels: labels('tracker') },
        spec: { containers: [{ name: 'tracker', image: 'ghcr.io/pushtech/tracker:0.1.0' }] },
      },
    },
    status: {
      observedGeneration: 4,
      replicas: options.statusReplicas ?? replicas,
      updatedReplicas: options.updatedReplicas ?? replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    },
  };
}

export function hpaList(
  hpas: readonly { name: string; min: number; max: number; target?: string }[],
): Record<string, unknown> {
  return {
    kind: 'HorizontalPodAutoscalerList',
    apiVersion: 'autoscaling/v2',
    metadata: {},
    items: hpas.map((h) => ({
      kind: 'HorizontalPodAutoscaler',
      apiVersion: 'autoscaling/v2',
      metadata: { name: h.name, namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: h.target ?? deploymentName },
        minReplicas: h.min,
        maxReplicas: h.max,
      },
    })),
  };
}

export function pdbList(
  pdbs: readonly { name: string; minAvailable?: number | string; component?: string }[],
): Record<string, unknown> {
  return {
    kind: 'PodDisruptionBudgetList',
    apiVersion: 'policy/v1',
    metadata: {},
    items: pdbs.map((p) => ({
      kind: 'PodDisruptionBudget',
      apiVersion: 'policy/v1',
      metadata: { name: p.name, namespace },
      spec: {
        ...(p.minAvailable === undefined ? {} : { minAvailable: p.minAvailable }),
        selector: {
          matchLabels: {
            'app.kubernetes.io/instance': release,
            'app.kubernetes.io/component': p.component ?? 'tracker',
          },
        },
      },
    })),
  };
}

export function scaleObject(replicas: number): Record<string, unknown> {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: deploymentName, namespace, resourceVersion: '4712' },
    spec: { replicas },
    status: { replicas },
  };
}

export function metricsText(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([name, value]) => `# HELP ${name} test\n# TYPE ${name} gauge\n${name} ${value}\n`)
    .join('');
}

export const paths = {
  deployment: `/apis/apps/v1/namespaces/${namespace}/deployments/${deploymentName}`,
  scale: `/apis/apps/v1/namespaces/${namespace}/deployments/${deploymentName}/scale`,
  hpas: `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`,
  hpa: (name: string) => `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/${name}`,
  pdbs: `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`,
  pods: `/api/v1/namespaces/${namespace}/pods`,
  pod: (name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`,
  // The client percent-encodes the ':' of `pod:port`; the API server decodes it when routing.
  metrics: (name: string, port: number) => `/api/v1/namespaces/${namespace}/pods/${name}%3A${port}/proxy/metrics`,
};

export const selectors = {
  release: 'app.kubernetes.io/name=pushtech,app.kubernetes.io/instance=pushtech',
  tracker: 'app.kubernetes.io/name=pushtech,app.kubernetes.io/instance=pushtech,app.kubernetes.io/component=tracker',
};
