import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { repoRoot } from '../src/compose-files.js';
import { importCycles, importGraph, workspaceSources } from '../src/import-cycles.js';

// The layer rules of eslint.config.js, shown to fire: snippets that break a layer, linted as if
// they were files of the repository, must be errors, and the allowed imports beside them must not.

// Only the rule under test runs, so no type information (and no TypeScript program) is needed.
const eslint = new ESLint({
  cwd: repoRoot,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

async function restrictions(filePath: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { value } from '${specifier}';\nexport { value };\n`, { filePath });
  assert.ok(result, `no lint result for ${filePath}`);
  const other = result.messages.filter((m) => m.ruleId !== 'no-restricted-imports');
  assert.deepEqual(other, [], `${filePath}: unexpected problems`);
  return result.messages.map((m) => m.message);
}

const ACROSS = /reaches into another workspace/;

describe('lint: layers', () => {
  const broken: Array<[string, string, string, RegExp]> = [
    ['deploy into a service', 'packages/deploy/src/x.ts', '../../../services/tracker/src/config.js', ACROSS],
    ['deploy into runtime', 'packages/deploy/src/x.ts', '../../runtime/src/dotenv.js', ACROSS],
    ['a bench into a package', 'services/consumers/bench/x.ts', '../../../packages/runtime/bench/b.js', ACROSS],
    ['a nested folder into a sibling', 'packages/chaos/src/scenarios/x.ts', '../../../devstack/src/x.js', ACROSS],
    ['a package root file out', 'packages/event/x.ts', '../runtime/src/index.js', ACROSS],
    ['event imports runtime', 'packages/event/src/x.ts', '@pushtech/runtime', /bottom layer/],
    ['event tests import devstack', 'packages/event/test/x.ts', '@pushtech/devstack/testing', /bottom layer/],
    ['runtime imports devstack', 'packages/runtime/src/x.ts', '@pushtech/devstack', /imports only @pushtech\/event/],
    ['runtime bench imports devstack', 'packages/runtime/bench/x.ts', '@pushtech/devstack', /only @pushtech\/event/],
    ['runtime imports e2e', 'packages/runtime/src/kafka/x.ts', '@pushtech/e2e', /only @pushtech\/event/],
    [
      'runtime imports the consumer kit',
      'packages/runtime/src/x.ts',
      '@pushtech/consumer-kit',
      /only @pushtech\/event/,
    ],
    ['runtime imports a service', 'packages/runtime/src/x.ts', '@pushtech/kafkastore/library', /only @pushtech\/event/],
    ['the kit imports devstack', 'packages/consumer-kit/src/x.ts', '@pushtech/devstack', /consumer kit ships/],
    ['the kit imports a tool', 'packages/consumer-kit/src/x.ts', '@pushtech/dlq', /consumer kit ships/],
    ['the kit imports a service', 'packages/consumer-kit/src/x.ts', '@pushtech/kafkastore/library', /consumer kit/],
    ['a service imports devstack', 'services/consumers/src/x.ts', '@pushtech/devstack', /service's src ships/],
    ['a service imports testing', 'services/tracker/src/x.ts', '@pushtech/devstack/testing', /service's src ships/],
    ['a service imports loadgen', 'services/kafidx/src/sub/x.ts', '@pushtech/loadgen', /service's src ships/],
  ];
  for (const [name, filePath, specifier, expected] of broken) {
    it(`refuses ${name}: ${filePath} importing ${specifier}`, async () => {
      const messages = await restrictions(filePath, specifier);
      assert.equal(messages.length, 1, `expected one error, got ${JSON.stringify(messages)}`);
      assert.match(messages[0] as string, expected);
    });
  }

  const allowed: Array<[string, string, string]> = [
    ['runtime imports event', 'packages/runtime/src/x.ts', '@pushtech/event'],
    ['a test imports its own src', 'packages/runtime/test/x.ts', '../src/index.js'],
    ['a nested file imports up its own workspace', 'packages/chaos/src/scenarios/x.ts', '../../bench/x.js'],
    ['a service test imports devstack', 'services/consumers/test/x.ts', '@pushtech/devstack/testing'],
    ['a test beside the source imports devstack', 'services/kafidx/src/x.test.ts', '@pushtech/devstack/testing'],
    ['a service bench imports devstack', 'services/consumers/bench/x.ts', '@pushtech/devstack'],
    ["the kit's test kit imports devstack", 'packages/consumer-kit/src/testing/x.ts', '@pushtech/devstack/testing'],
    ['a service imports the kit', 'services/consumers/src/x.ts', '@pushtech/consumer-kit'],
    ["a tool imports a service's config", 'packages/deploy/src/x.ts', '@pushtech/tracker/config'],
  ];
  for (const [name, filePath, specifier] of allowed) {
    it(`allows ${name}: ${filePath} importing ${specifier}`, async () => {
      assert.deepEqual(await restrictions(filePath, specifier), []);
    });
  }

  it('covers every folder of every workspace: a relative import out of it is an error', async () => {
    const folders = new Set(workspaceSources(repoRoot).map((file) => path.dirname(path.relative(repoRoot, file))));
    assert.ok(folders.size > 20, `only ${folders.size} folders found`);
    for (const folder of folders) {
      const [group, workspace, ...below] = folder.split(path.sep);
      const other = workspace === 'runtime' ? 'event' : 'runtime';
      const outside = `${'../'.repeat(below.length + 1)}${group === 'packages' ? '' : '../packages/'}${other}/src/index.js`;
      const messages = await restrictions(path.join(folder, 'layers-probe.ts'), outside);
      assert.ok(
        messages.some((m) => ACROSS.test(m)),
        `${folder}: ${outside} was not refused`,
      );
    }
  });
});

describe('import circles', () => {
  it('no workspace has one', () => {
    const cycles = importCycles(importGraph(workspaceSources(repoRoot)));
    assert.deepEqual(
      cycles.map((cycle) => cycle.map((file) => path.relative(repoRoot, file))),
      [],
    );
  });

  it('a circle through a type-only import, a longer one and a self-import are found', (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'import-cycles-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const src = path.join(root, 'packages', 'demo', 'src');
    mkdirSync(path.join(src, 'kafka'), { recursive: true });
    const files: Record<string, string> = {
      'kafka/producer.ts': "import { other } from './platformatic-producer.js';\nexport interface Options {}\n",
      'kafka/platformatic-producer.ts': "import type { Options } from './producer.js';\nexport const other = 1;\n",
      'a.ts': "export * from './b.js';\n",
      'b.ts': "export { c } from './kafka/c.js';\n",
      'kafka/c.ts': "export const c = () => import('../a.js');\n",
      'self.ts': "import './self.js';\n",
      'leaf.ts': "import { c } from './kafka/c.js';\nimport type { Options } from './kafka/producer.js';\n",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(src, name), text);

    const found = importCycles(importGraph(workspaceSources(root))).map((c) => c.map((f) => path.relative(src, f)));
    assert.deepEqual(found, [
      ['a.ts', 'b.ts', path.join('kafka', 'c.ts')],
      [path.join('kafka', 'platformatic-producer.ts'), path.join('kafka', 'producer.ts')],
      ['self.ts'],
    ]);
  });
});
