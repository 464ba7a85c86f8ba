/**
 * Renders the Helm chart into the two checked-in layouts: kubernetes/ (topology `separate`) and
 * kubernetes.two/ (topology `sidecar`), one file per component. `--check` changes nothing and
 * exits 1 when a folder is out of date (manifests.test.ts does the same comparison).
 *
 *   node --conditions=development --import tsx packages/deploy/src/render-manifests.ts [--check]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { layouts, repoRoot } from './k8s-helm.js';
import { readLayoutFiles, renderLayoutFiles } from './k8s-manifests.js';
import { describeError } from '@pushtech/runtime';

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`render-manifests: unknown argument ${unknown.join(' ')} (usage: [--check])\n`);
    return 2;
  }
  const check = argv.includes('--check');
  let stale = 0;
  for (const layout of layouts) {
    const wanted = renderLayoutFiles(layout);
    const present = readLayoutFiles(layout.dir);
    const where = path.relative(repoRoot, layout.dir);
    const changed = [...wanted].filter(([name, text]) => present.get(name) !== text).map(([name]) => name);
    const extra = [...present.keys()].filter((name) => !wanted.has(name));
    if (check) {
      for (const name of changed) process.stdout.write(`${where}/${name}: out of date\n`);
      for (const name of extra) process.stdout.write(`${where}/${name}: not produced by the chart\n`);
      stale += changed.length + extra.length;
      continue;
    }
    mkdirSync(layout.dir, { recursive: true });
    for (const name of extra) rmSync(path.join(layout.dir, name));
    for (const name of changed) writeFileSync(path.join(layout.dir, name), wanted.get(name) ?? '');
    process.stdout.write(
      `${where}/ (${layout.topology}): ${wanted.size} files, ${changed.length} written, ${extra.length} removed\n`,
    );
  }
  if (check && stale > 0) {
    process.stdout.write('run `npm run k8s:render` to regenerate\n');
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error: unknown) {
  process.stderr.write(`render-manifests: ${describeError(error)}\n`);
  process.exitCode = 1;
}
