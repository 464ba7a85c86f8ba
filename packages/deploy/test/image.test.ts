/**
 * What each service's image holds, found by running what its Dockerfile runs: the build context
 * (.dockerignore applied), `turbo prune --docker`, and the `npm ls --omit=dev` that picks the
 * workspaces the image keeps. No Docker engine needed; the Dockerfile's own rules (that it runs
 * these, in this order) are in compose.test.ts.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../src/compose-files.js';
import { productionClosure, serviceNames, workspaces, type Workspace } from '../src/compose-image-checks.js';
import { buildSources, copyBuildContext, importedPackages, productionSet, prune } from '../src/image-workspace.js';

/** Tools of the repository: they run tests, benchmarks, the local stack and operations, never a service. */
const TOOL_WORKSPACES = ['bench', 'chaos', 'deploy', 'devstack', 'dlq', 'e2e', 'loadgen', 'ops'].map(
  (name) => `@pushtech/${name}`,
);

/** Loaded in a try with a fallback, so an image works without them. */
const OPTIONAL_AT_RUN_TIME: Readonly<Record<string, string>> = {
  'pino-pretty': 'packages/runtime/src/logger.ts logs JSON without it',
};

const all = workspaces();
const rootManifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Workspace['manifest'];

/**
 * Packages that must not be in a service's image: the root's and the service workspaces'
 * devDependencies (TypeScript, tsx, turbo, eslint, @pushtech/devstack, ...) unless one of
 * those workspaces also needs them at run time, and the repository's tools.
 */
function devTooling(closure: readonly Workspace[]): string[] {
  const runtime = new Set(closure.flatMap((w) => Object.keys(w.manifest.dependencies ?? {})));
  const dev = [rootManifest, ...closure.map((w) => w.manifest)].flatMap((m) => Object.keys(m.devDependencies ?? {}));
  return [...new Set([...dev.filter((name) => !runtime.has(name)), ...TOOL_WORKSPACES])].sort();
}

describe('service images: the workspace turbo prune and npm resolve for each', () => {
  let context = '';
  before(() => {
    context = mkdtempSync(path.join(tmpdir(), 'pushtech-image-context-'));
    copyBuildContext(context, readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));
  });
  after(() => rmSync(context, { recursive: true, force: true }));

  for (const service of serviceNames()) {
    it(`${service}: the workspaces it runs, built from sources in the context, and no dev tooling`, () => {
      const out = prune(context, service);
      const closure = productionClosure(`services/${service}`, all);
      const selected = productionSet(out, service);

      // What the production stage keeps is what the service needs at run time, nothing more.
      assert.deepEqual(selected.workspaces, closure.map((w) => w.dir).sort());
      const tooling = devTooling(closure).filter((name) => selected.packages.has(name));
      assert.deepEqual(tooling, [], `dev tooling a production install of ${service} would put in its image`);
      assert.deepEqual(
        [...selected.packages].filter((name) => name.startsWith('@types/')),
        [],
        'type packages are for the build',
      );

      // The build stage has each of them with its sources (turbo prune copied them from the context).
      const full = path.join(out, 'full');
      copyFileSync(path.join(context, 'tsconfig.base.json'), path.join(full, 'tsconfig.base.json'));
      for (const workspace of closure) {
        const sources = buildSources(path.join(full, workspace.dir));
        assert.ok(sources.length > 0, `${workspace.dir}: nothing to build`);
        const own = sources.map((f) => path.relative(path.join(full, workspace.dir), f));
        assert.deepEqual(
          own.filter((f) => /\.test\.ts$|(^|\/)(test|testing|bench)\//.test(f)),
          [],
          `${workspace.dir}: its build must leave tests and testing helpers out of dist/`,
        );
        // Everything the built code imports is installed by the production install.
        const missing = [...new Set(sources.flatMap(importedPackages))].filter(
          (name) => !selected.packages.has(name) && !(name in OPTIONAL_AT_RUN_TIME),
        );
        assert.deepEqual(missing, [], `${workspace.dir} imports packages its image would not have`);
        const publicDir = path.join(repoRoot, workspace.dir, 'public');
        if (existsSync(publicDir))
          assert.ok(existsSync(path.join(full, workspace.dir, 'public')), `${workspace.dir}/public`);
      }
      assert.ok(existsSync(path.join(full, 'turbo.json')), 'turbo.json, for the build stage');
    });
  }

  it('the dev tooling list is not empty, and the consumer kit keeps its testing helpers to development', () => {
    const consumers = productionClosure('services/consumers', all);
    const tooling = devTooling(consumers);
    for (const name of ['@pushtech/devstack', 'tsx', 'typescript', 'turbo']) assert.ok(tooling.includes(name), name);
    const kit = all.get('@pushtech/consumer-kit');
    assert.ok(kit && !('@pushtech/devstack' in (kit.manifest.dependencies ?? {})), 'devstack is a devDependency');
  });
});
