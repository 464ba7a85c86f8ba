// One lint setup for every workspace: typescript-eslint with type information, so promise
// mistakes (a forgotten await, a promise passed where a callback is expected) are caught.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers (docs/ARCHITECTURE.md): wire format (event) -> runtime -> consumer kit -> services
// -> tools. A workspace imports another by its package name and exports, never by relative path,
// and never one of a layer above it. packages/deploy/test/layers.test.ts proves each rule fires.
const tools = ['devstack', 'bench', 'e2e', 'loadgen', 'chaos', 'ops', 'deploy', 'dlq', 'monitoring'];
const services = ['tracker', 'kafkastore', 'consumers', 'kafidx'];
const sourceFiles = '*.{ts,mts,cts,js,mjs,cjs}';
/** Folders below a workspace's root that the relative-import rule covers. */
const MAX_DEPTH = 8;

const packagesNamed = (names, why) => ({
  group: names.flatMap((name) => [`@pushtech/${name}`, `@pushtech/${name}/*`]),
  message: why,
});

/**
 * no-restricted-imports sees the import, not the importing file, so "leaves its workspace" is
 * spelled per depth: in a file `depth` folders below its workspace's root, one `../` more than
 * that reaches a sibling workspace. One config object per depth, each with the whole pattern
 * list, because a later object's options replace an earlier one's for the same rule.
 */
function layerRules(name, { workspaces, under, patterns = [], ignores = [] }) {
  const first = under ? 1 : 0;
  return Array.from({ length: MAX_DEPTH + 1 - first }, (_, i) => {
    const depth = first + i;
    const folders = `${under ? `${under}/` : ''}${'*/'.repeat(depth - first)}`;
    return {
      name: `pushtech/layers/${name}/depth-${depth}`,
      files: workspaces.map((workspace) => `${workspace}/${folders}${sourceFiles}`),
      ignores,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: [`${'../'.repeat(depth + 1)}**`],
                message: 'reaches into another workspace: import it by its package name (@pushtech/...) instead.',
              },
              ...patterns,
            ],
          },
        ],
      },
    };
  });
}

const productionOnly = ['**/*.test.ts', 'packages/consumer-kit/src/testing/**'];
const layers = [
  ...layerRules('relative', { workspaces: ['packages/*', 'services/*'] }),
  ...layerRules('event', {
    workspaces: ['packages/event'],
    patterns: [
      { group: ['@pushtech/*'], message: '@pushtech/event is the bottom layer: it imports no other workspace.' },
    ],
  }),
  ...layerRules('runtime', {
    workspaces: ['packages/runtime'],
    patterns: [
      {
        group: ['@pushtech/*', '!@pushtech/event'],
        message: '@pushtech/runtime sits below the kits, services and tools: it imports only @pushtech/event.',
      },
    ],
  }),
  ...layerRules('consumer-kit', {
    workspaces: ['packages/consumer-kit'],
    under: 'src',
    ignores: productionOnly,
    patterns: [
      packagesNamed(
        [...tools, ...services],
        'the consumer kit ships in production images: no tools or services (its tests and src/testing may use devstack).',
      ),
    ],
  }),
  ...layerRules('services', {
    workspaces: ['services/*'],
    under: 'src',
    ignores: productionOnly,
    patterns: [
      packagesNamed(tools, "a service's src ships in its image: no tools (tests and benchmarks may use them)."),
    ],
  }),
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/coverage/**',
      'scripts/**',
      'eslint.config.js',
      'services/*/public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  ...layers,
  {
    files: ['**/test/**', '**/bench/**', '**/*.test.ts'],
    rules: {
      'no-console': 'off',
    },
  },
);
