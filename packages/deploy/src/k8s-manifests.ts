import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Document, parseAllDocuments } from 'yaml';
import { helmTemplate, type Layout } from './k8s-helm.js';

/** What every Kubernetes object has; the tests narrow it to typed models. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** Parses multi-document YAML (helm output or a rendered file); empty documents are skipped. */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    const object = value as Partial<KubeObject>;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || !object.metadata?.name) {
      throw new Error(`${source}: a document lacks apiVersion, kind or metadata.name`);
    }
    objects.push(object as KubeObject);
  }
  return objects;
}

/** Apply order within a file (Helm's install order): what others refer to comes first. */
const KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'Job',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
];

function kindRank(kind: string): number {
  const rank = KIND_ORDER.indexOf(kind);
  return rank === -1 ? KIND_ORDER.length : rank;
}

/**
 * One file per component (tracker.yaml, redis.yaml, consumers.yaml, ...). The namespace file
 * sorts first, because `kubectl apply -f <dir>` takes the files in name order.
 */
export function fileFor(object: KubeObject): string {
  if (object.kind === 'Namespace') return '00-namespace.yaml';
  const component = object.metadata.labels?.[COMPONENT_LABEL];
  if (!component) throw new Error(`${object.kind} ${object.metadata.name} has no ${COMPONENT_LABEL} label`);
  return `${component === 'consumer' ? 'consumers' : component}.yaml`;
}

export function renderLayoutFiles(layout: Layout): Map<string, string> {
  const objects = parseManifests(helmTemplate({ files: [layout.valuesFile] }), `helm template (${layout.topology})`);
  const byFile = new Map<string, KubeObject[]>();
  for (const object of objects) {
    const file = fileFor(object);
    byFile.set(file, [...(byFile.get(file) ?? []), object]);
  }
  const header =
    ` Generated from helm/pushtech (topology: ${layout.topology}, values: ` +
    `${path.relative(path.dirname(layout.dir), layout.valuesFile)}).\n` +
    ' Do not edit: change the chart, then run `npm run k8s:render`.';
  const files = new Map<string, string>();
  for (const [file, list] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...list].sort(
      (a, b) => kindRank(a.kind) - kindRank(b.kind) || a.metadata.name.localeCompare(b.metadata.name),
    );
    const docs = sorted.map((object, index) => {
      const doc = new Document(object);
      if (index === 0) doc.commentBefore = header;
      return doc.toString({ lineWidth: 0, singleQuote: true });
    });
    files.set(file, docs.join('---\n'));
  }
  return files;
}

/** The YAML files currently in a layout folder. */
export function readLayoutFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.yaml') || name.endsWith('.yml')) files.set(name, readFileSync(path.join(dir, name), 'utf8'));
  }
  return files;
}

/** Every object of a layout folder, as `kubectl apply -f <dir>` would see them. */
export function readLayoutObjects(dir: string): KubeObject[] {
  return [...readLayoutFiles(dir)].flatMap(([name, text]) => parseManifests(text, path.join(dir, name)));
}
