import type { V1Deployment, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { adviseOnNotFound } from './api-errors.js';
import type { OpsCluster } from './cluster.js';
import { selectorMatches, trackerDeploymentName } from './labels.js';

export interface Autoscaler {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

export interface DisruptionBudget {
  readonly name: string;
  /** Absolute minAvailable; a percentage is relative to the desired count and never blocks a scale-down. */
  readonly minAvailable: number | undefined;
}

/** What limits how far the tracker Deployment may be scaled down. */
export interface Guards {
  readonly autoscaler: Autoscaler | undefined;
  readonly budgets: readonly DisruptionBudget[];
}

/** The tracker Deployment of a release; a 404 says which names were tried. */
export function readTrackerDeployment(cluster: OpsCluster, namespace: string, release: string): Promise<V1Deployment> {
  return adviseOnNotFound(
    () => cluster.readDeployment(namespace, trackerDeploymentName(release)),
    `Is the release called ${JSON.stringify(release)} (--release) and installed in namespace ${namespace} (--namespace) of context ${cluster.target.context}?`,
  );
}

export async function findGuards(
  cluster: OpsCluster,
  namespace: string,
  name: string,
  deployment: V1Deployment,
): Promise<Guards> {
  const podLabels = deployment.spec?.template.metadata?.labels;
  // One after the other: the requests stay in a fixed order, which keeps audit logs and tests readable.
  const autoscalers = await cluster.listHorizontalPodAutoscalers(namespace);
  const budgets = await cluster.listPodDisruptionBudgets(namespace);
  const autoscaler = autoscalers.find((hpa) => targets(hpa, name));
  return {
    autoscaler: autoscaler && {
      name: autoscaler.metadata?.name ?? '(unnamed)',
      min: autoscaler.spec?.minReplicas ?? 1,
      max: autoscaler.spec?.maxReplicas ?? 1,
    },
    budgets: budgets
      .filter((pdb) => selectorMatches(pdb.spec?.selector, podLabels))
      .map((pdb) => ({ name: pdb.metadata?.name ?? '(unnamed)', minAvailable: absolute(pdb.spec?.minAvailable) })),
  };
}

/** The strictest absolute minAvailable among the budgets covering the tracker pods. */
export function strictestBudget(guards: Guards): { name: string; minAvailable: number } | undefined {
  let strictest: { name: string; minAvailable: number } | undefined;
  for (const budget of guards.budgets) {
    if (budget.minAvailable === undefined) continue;
    if (strictest === undefined || budget.minAvailable > strictest.minAvailable) {
      strictest = { name: budget.name, minAvailable: budget.minAvailable };
    }
  }
  return strictest;
}

function targets(hpa: V2HorizontalPodAutoscaler, deployment: string): boolean {
  const ref = hpa.spec?.scaleTargetRef;
  return ref?.kind === 'Deployment' && ref.name === deployment && (ref.apiVersion ?? 'apps/v1').startsWith('apps/');
}

function absolute(value: number | string | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
