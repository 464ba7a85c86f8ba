import type {
  V1Container,
  V1EnvVar,
  V1LabelSelector,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Secret,
} from '@kubernetes/client-node';
import type { KubeObject } from './k8s-manifests.js';

/** The four deployables; their images are <registry>/<service>:<tag>. */
export const SERVICES = ['tracker', 'kafkastore', 'consumers', 'kafidx'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A Deployment, StatefulSet or Job, with its pod template. */
export interface Workload {
  readonly object: KubeObject;
  readonly template: V1PodTemplateSpec;
  readonly spec: V1PodSpec;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job']);

export function workloads(objects: readonly KubeObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((object) => {
      const template = (object['spec'] as { template?: V1PodTemplateSpec } | undefined)?.template;
      if (!template?.spec) throw new Error(`${object.kind} ${object.metadata.name} has no pod template`);
      return { object, template, spec: template.spec };
    });
}

export function workloadNamed(objects: readonly KubeObject[], kind: string, name: string): Workload {
  const found = workloads(objects).find((w) => w.object.kind === kind && w.object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among the rendered objects`);
  return found;
}

export interface PodContainer {
  readonly container: V1Container;
  /** An init container; with restartPolicy Always, a native sidecar. */
  readonly init: boolean;
}

export function podContainers(spec: V1PodSpec): PodContainer[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({ container, init: true })),
    ...spec.containers.map((container) => ({ container, init: false })),
  ];
}

/** Which of the pipeline's services a container runs, from its image; undefined for Redis, Kafka. */
export function serviceOf(container: V1Container, registry: string): ServiceName | undefined {
  const image = container.image ?? '';
  if (!image.startsWith(`${registry}/`)) return undefined;
  const repository = image.slice(registry.length + 1).split(':')[0];
  return SERVICES.find((s) => s === repository);
}

export function containerNamed(spec: V1PodSpec, name: string): V1Container {
  const found = podContainers(spec).find((c) => c.container.name === name);
  if (!found) throw new Error(`the pod has no container ${name}`);
  return found.container;
}

/** The literal value of an env var, or undefined when it is absent or comes from elsewhere. */
export function envValue(container: V1Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/**
 * The environment a container starts with, as the kubelet would build it: literal values,
 * the downward API (from a sample pod), and Secret keys from the rendered Secrets (or
 * `secretFallback` for Secrets created outside the chart, such as the kafidx token).
 */
export function resolveEnv(
  container: V1Container,
  context: {
    readonly objects: readonly KubeObject[];
    readonly podName: string;
    readonly podIp: string;
    readonly secretFallback: (name: string, key: string) => string;
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) env[variable.name] = resolveOne(variable, context);
  return env;
}

function resolveOne(variable: V1EnvVar, context: Parameters<typeof resolveEnv>[1]): string {
  if (variable.value !== undefined) return variable.value;
  const field = variable.valueFrom?.fieldRef?.fieldPath;
  if (field === 'metadata.name') return context.podName;
  if (field === 'status.podIP') return context.podIp;
  const secretRef = variable.valueFrom?.secretKeyRef;
  if (secretRef) {
    if (!secretRef.name) throw new Error(`env ${variable.name}: secretKeyRef without a Secret name`);
    const name = secretRef.name;
    const secret = context.objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as V1Secret | undefined;
    const encoded = secret?.data?.[secretRef.key];
    if (secret && encoded === undefined) throw new Error(`Secret ${name} has no key ${secretRef.key}`);
    return encoded === undefined
      ? context.secretFallback(name, secretRef.key)
      : Buffer.from(encoded, 'base64').toString('utf8');
  }
  throw new Error(`env ${variable.name}: no value and no valueFrom the tests know how to resolve`);
}

/** True when every matchLabels pair is among the labels (matchExpressions are not used here). */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels?.[k] === v);
}

export function matchLabelsOf(selector: V1LabelSelector | undefined): Record<string, string> {
  if (selector?.matchExpressions?.length) throw new Error('matchExpressions are not expected in this chart');
  return selector?.matchLabels ?? {};
}
