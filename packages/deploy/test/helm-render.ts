/** The chart rendered for a test, or the message it refuses values with. */
import assert from 'node:assert/strict';
import { HelmError, helmTemplate, type ChartValues } from '../src/k8s-helm.js';
import { parseManifests, type KubeObject } from '../src/k8s-manifests.js';

/** `helm template` with these values, parsed. */
export function render(values: ChartValues = {}): KubeObject[] {
  return parseManifests(helmTemplate(values), 'helm template');
}

/** The message `helm template` refuses these values with; fails the test if it accepts them. */
export function refusal(values: ChartValues): string {
  try {
    helmTemplate(values);
  } catch (error: unknown) {
    if (error instanceof HelmError) return error.message;
    throw error;
  }
  assert.fail(`helm template accepted ${JSON.stringify(values.set)}`);
}
