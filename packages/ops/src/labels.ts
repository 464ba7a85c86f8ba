import type { V1LabelSelector } from '@kubernetes/client-node';

/** The Helm chart's labels (helm/pushtech): every object carries name, instance and component. */
export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
} as const;

export const appName = 'pushtech';

/** Lower pod-deletion-cost is removed first; int32's minimum puts the pod ahead of every default (0). */
export const podDeletionCostAnnotation = 'controller.kubernetes.io/pod-deletion-cost';
export const lowestDeletionCost = '-2147483648';

export function releaseSelector(release: string): string {
  return `${labelKeys.name}=${appName},${labelKeys.instance}=${release}`;
}

export function trackerDeploymentName(release: string): string {
  return `${release}-tracker`;
}

type Labels = Readonly<Record<string, string>> | undefined;

/** Kubernetes label-selector semantics; an empty selector matches everything, as in policy/v1. */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const value = have[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The `labelSelector` query string for a Deployment's selector (matchLabels and matchExpressions). */
export function selectorToQuery(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        parts.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expression.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expression.key}`);
        break;
      default:
        throw new Error(`unknown label selector operator ${JSON.stringify(expression.operator)}`);
    }
  }
  return parts.join(',');
}
