import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkProject } from '../src/compose-checks.js';
import { checkDockerfile, checkImage, imageCheckContext, readDockerfile } from '../src/compose-image-checks.js';
import {
  commandArgv,
  dockerignoreMatcher,
  envPairs,
  finalStage,
  flattened,
  healthcheckOf,
  parseDockerfile,
  workdirOf,
  type Stage,
} from '../src/compose-dockerfile.js';
import {
  ComposeError,
  composeDir,
  durationMs,
  interpolate,
  loadProject,
  publishedPorts,
  readEnvFile,
  repoRoot,
  type ComposeProject,
  type ComposeService,
} from '../src/compose-files.js';

// The checks of compose.test.ts, shown to fail: each case breaks one thing in a copy of the
// real files and expects the problem that names it.

const defaults = readEnvFile(path.join(repoRoot, '.env'));
const pipeline = loadProject(path.join(composeDir, 'pipeline.yml'), (n) =>
  n === 'KAFIDX_TOKEN' ? 'rules-test-token-0123456789' : undefined,
);

function withService(
  project: ComposeProject,
  name: string,
  change: (definition: Record<string, unknown>) => void,
): ComposeProject {
  const services = new Map(project.services);
  const service = services.get(name) as ComposeService;
  const definition = structuredClone(service.definition) as Record<string, unknown>;
  change(definition);
  services.set(name, { ...service, definition });
  return { ...project, services };
}

const env = (definition: Record<string, unknown>): Record<string, unknown> =>
  definition['environment'] as Record<string, unknown>;

describe('compose interpolation', () => {
  const vars: Record<string, string> = { SET: 'value', EMPTY: '' };
  const lookup = (name: string): string | undefined => vars[name];
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['$$SET and $${SET}', '$SET and ${SET}'],
    ['$SET/${SET}', 'value/value'],
    ['${UNSET}', ''],
    ['${UNSET:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${UNSET-fallback}', 'fallback'],
    ['${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}', 'alt||alt'],
    ['${UNSET:-${SET}.dlq}', 'value.dlq'],
    ['${SET:?never}', 'value'],
  ];
  for (const [template, expected] of cases) {
    it(`${template} -> ${JSON.stringify(expected)}`, () => assert.equal(interpolate(template, lookup), expected));
  }
  for (const [template, message] of [
    ['${UNSET:?set it please}', /UNSET: set it please/],
    ['${EMPTY:?set it please}', /EMPTY: set it please/],
    ['${UNSET?}', /UNSET: required/],
    ['cost: 5$', /lone "\$"/],
    ['${SET', /unterminated/],
    ['${SET:x}', /invalid substitution/],
  ] as const) {
    it(`${template} fails with ${message}`, () => {
      assert.throws(
        () => interpolate(template, lookup),
        (e: unknown) => e instanceof ComposeError && message.test(e.message),
      );
    });
  }
});

describe('compose value readers', () => {
  it('reads durations', () => {
    assert.equal(durationMs('30s', 'x'), 30_000);
    assert.equal(durationMs('1m30s', 'x'), 90_000);
    assert.equal(durationMs('500ms', 'x'), 500);
    assert.throws(() => durationMs('30', 'x'), /not a duration/);
  });
  it('reads published ports in short and long syntax', () => {
    const service = (ports: unknown[]): ComposeService => ({ name: 's', file: 'f', definition: { ports } });
    assert.deepEqual(publishedPorts(service(['127.0.0.1:6380:6379', '8380:8380/tcp'])), [
      { hostIp: '127.0.0.1', published: 6380, target: 6379 },
      { hostIp: undefined, published: 8380, target: 8380 },
    ]);
    assert.deepEqual(publishedPorts(service([{ target: 80, published: '8080' }])), [
      { hostIp: undefined, published: 8080, target: 80 },
    ]);
    assert.throws(() => publishedPorts(service(['8380'])), /host:container/);
  });
});

describe('compose rules catch broken files', () => {
  const cases: Array<[string, ComposeProject, RegExp]> = [
    [
      'a misspelt variable',
      withService(pipeline, 'tracker', (d) => void (env(d)['TRACKER_WROKERS'] = 2)),
      /tracker: environment TRACKER_WROKERS is read by no setting/,
    ],
    [
      'a value the service refuses',
      withService(pipeline, 'tracker', (d) => void (env(d)['TRACKER_WORKERS'] = 'zero')),
      /tracker: its own config refuses the environment: .*TRACKER_WORKERS="zero"/s,
    ],
    [
      'a port published elsewhere than the service listens',
      withService(pipeline, 'tracker', (d) => void (d['ports'] = ['8381:8380'])),
      /tracker: publishes 8381:8380 but listens on TRACKER_PORT=8380/,
    ],
    [
      'a service listening on loopback only',
      withService(pipeline, 'kafidx', (d) => void (env(d)['KAFIDX_HOST'] = '127.0.0.1')),
      /kafidx: KAFIDX_HOST must be 0.0.0.0/,
    ],
    [
      'development mode in a container',
      withService(pipeline, 'consumers', (d) => void delete env(d)['NODE_ENV']),
      /consumers: NODE_ENV must be production in a container, is development/,
    ],
    [
      'a dependency on a missing service',
      withService(pipeline, 'tracker', (d) => void (d['depends_on'] = { cache: { condition: 'service_healthy' } })),
      /tracker: depends_on cache: no such service/,
    ],
    [
      'waiting for health of a job that has none',
      withService(
        pipeline,
        'kafidx',
        (d) => void (d['depends_on'] = { 'kafka-topics': { condition: 'service_healthy' } }),
      ),
      /kafidx: depends_on kafka-topics \(service_healthy\): it has no healthcheck/,
    ],
    [
      'waiting for a long-running service to complete',
      withService(
        pipeline,
        'kafidx',
        (d) => void (d['depends_on'] = { kafka: { condition: 'service_completed_successfully' } }),
      ),
      /kafidx: depends_on kafka \(service_completed_successfully\): it is not a one-shot job/,
    ],
    [
      'waiting only for a start',
      withService(pipeline, 'tracker', (d) => void (d['depends_on'] = ['redis'])),
      /tracker: depends_on redis: condition service_started/,
    ],
    [
      'an infrastructure service without a healthcheck',
      withService(pipeline, 'redis', (d) => void delete d['healthcheck']),
      /redis: a long-running service needs a healthcheck[\s\S]*tracker: depends_on redis \(service_healthy\): it has no healthcheck/,
    ],
    [
      'a stop shorter than the graceful shutdown',
      withService(pipeline, 'kafkastore', (d) => void (d['stop_grace_period'] = '10s')),
      /kafkastore: stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS \(25000 ms\)/,
    ],
    [
      'the archive on the read-only file system',
      withService(pipeline, 'consumers', (d) => void (d['volumes'] = [])),
      /consumers: writes to \/data\/archive but its file system is read-only/,
    ],
    [
      'a GeoIP database that is nowhere',
      withService(pipeline, 'kafkastore', (d) => void (env(d)['GEOIP_DB'] = '/app/geo/missing.mmdb')),
      /kafkastore: reads \/app\/geo\/missing.mmdb, which is neither in the image nor on a mounted volume/,
    ],
    [
      'a file of a devDependency, which the production image lacks',
      withService(
        pipeline,
        'kafkastore',
        (d) => void (env(d)['GEOIP_DB'] = '/app/node_modules/typescript/package.json'),
      ),
      /kafkastore: reads \/app\/node_modules\/typescript\/package.json, which is neither in the image nor/,
    ],
    [
      'kafidx without a token',
      withService(pipeline, 'kafidx', (d) => void (env(d)['KAFIDX_TOKEN'] = '')),
      /kafidx: its own config refuses the environment: KAFIDX_TOKEN is required in production/,
    ],
    [
      'Redis addressed by a name no service has',
      withService(pipeline, 'kafkastore', (d) => void (env(d)['REDIS_URL'] = 'redis://cache:6379')),
      /kafkastore: REDIS_URL points at cache:6379, but there is no service cache/,
    ],
    [
      'a misspelt variable in the topic job',
      withService(pipeline, 'kafka-topics', (d) => void (env(d)['KAFKA_TOPICS'] = 'events')),
      /kafka-topics: environment KAFKA_TOPICS is read by no setting/,
    ],
    [
      'Redis published on another port than .env says',
      withService(pipeline, 'redis', (d) => void (d['ports'] = ['6379:6379'])),
      /redis: must publish 6380:6379 \(the REDIS_URL of .env\)/,
    ],
    [
      'Kafka not advertising the host address',
      withService(pipeline, 'kafka', (d) => void (env(d)['KAFKA_ADVERTISED_LISTENERS'] = 'PLAINTEXT://kafka:9092')),
      /kafka: KAFKA_ADVERTISED_LISTENERS must advertise 127.0.0.1:19092/,
    ],
    [
      'clients pointed at a listener Kafka does not advertise',
      withService(pipeline, 'consumers', (d) => void (env(d)['KAFKA_BROKERS'] = 'kafka:9093')),
      /kafka: no listener advertises kafka:9093, which consumers connects to/,
    ],
    [
      'a floating image tag',
      withService(pipeline, 'redis', (d) => void (d['image'] = 'redis')),
      /redis: image redis must have a pinned tag/,
    ],
    [
      'a build without its Dockerfile',
      withService(
        pipeline,
        'kafidx',
        (d) => void ((d['build'] as Record<string, unknown>)['dockerfile'] = 'Dockerfile.missing'),
      ),
      /kafidx: build: Dockerfile.missing does not exist/,
    ],
  ];
  for (const [what, project, expected] of cases) {
    it(`catches ${what}`, () => {
      const problems = checkProject(project, defaults);
      assert.match(problems.join('\n'), expected);
    });
  }

  it('refuses an env_file value Compose would interpolate differently', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-env-'));
    try {
      writeFileSync(path.join(dir, '.env'), 'PLAIN=1\nPRICE=5$USD\n');
      assert.throws(() => readEnvFile(path.join(dir, '.env')), /PRICE contains "\$", which Compose would interpolate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile reader', () => {
  const text = [
    '# syntax=docker/dockerfile:1',
    'ARG BASE=node:20.20.2-bookworm-slim',
    'FROM ${BASE} AS build',
    'RUN --mount=type=cache,target=/root/.npm \\',
    '    # a comment inside a continued line is dropped',
    '    npm ci',
    'FROM build AS runtime',
    'ENV A=1 \\',
    '    B="two words"',
    'WORKDIR /app',
    'WORKDIR services/x',
    'HEALTHCHECK --interval=5s CMD ["node", "-e", "\\',
    'process.exit(0)"]',
    'CMD node dist/main.js',
  ].join('\n');
  const dockerfile = parseDockerfile(text);

  it('reads stages, build arguments, flags and continued lines', () => {
    assert.deepEqual(
      dockerfile.stages.map((s) => [s.name, s.base]),
      [
        ['build', 'node:20.20.2-bookworm-slim'],
        ['runtime', 'build'],
      ],
    );
    const run = dockerfile.stages[0]?.instructions[0];
    assert.deepEqual(
      [run?.keyword, run?.flags, run?.args.replace(/\s+/g, ' ')],
      ['RUN', { mount: 'type=cache,target=/root/.npm' }, 'npm ci'],
    );
    const final = finalStage(dockerfile);
    assert.equal(workdirOf(final), '/app/services/x');
    assert.deepEqual(healthcheckOf(final), { options: { interval: '5s' }, argv: ['node', '-e', 'process.exit(0)'] });
    assert.deepEqual(commandArgv('node dist/main.js'), ['/bin/sh', '-c', 'node dist/main.js']);
    assert.deepEqual(envPairs('A=1     B="two words"'), { A: '1', B: 'two words' });
    assert.deepEqual(envPairs('LEGACY some value'), { LEGACY: 'some value' });
  });

  it('expands build arguments as Docker does: in FROM from before the first FROM, in a stage once declared there', () => {
    const args = [
      'ARG SERVICE',
      'FROM node:20.20.2-bookworm-slim AS base',
      'WORKDIR /app/${SERVICE}',
      'FROM base AS with-arg',
      'ARG SERVICE',
      'WORKDIR /app/services/${SERVICE}',
      'RUN echo "${SERVICE}"',
      'FROM with-arg AS service-tracker',
      'FROM service-${SERVICE}',
    ].join('\n');
    const built = parseDockerfile(args, { SERVICE: 'tracker' });
    assert.deepEqual(
      built.stages.map((s) => s.base),
      ['node:20.20.2-bookworm-slim', 'base', 'with-arg', 'service-tracker'],
    );
    assert.equal(workdirOf(built.stages[0] as Stage), '/app', 'not declared in the stage: empty');
    assert.equal(workdirOf(built.stages[1] as Stage), '/app/services/tracker');
    assert.equal(built.stages[1]?.instructions.at(-1)?.args, 'echo "${SERVICE}"', 'RUN is left to the shell');
    assert.equal(workdirOf(flattened(built, finalStage(built))), '/app/services/tracker');
    assert.throws(() => parseDockerfile(args), /build argument SERVICE has no value/);
  });

  it('refuses what it cannot read', () => {
    assert.throws(() => parseDockerfile('RUN true'), /only ARG may come before the first FROM/);
    assert.throws(() => parseDockerfile('FROM ${MISSING}'), /build argument MISSING has no value/);
    assert.throws(() => parseDockerfile('FROM a \\'), /ends inside a continued line/);
  });
});

describe('.dockerignore rules', () => {
  const ignored = dockerignoreMatcher(
    ['# comment', '**/node_modules', '/dist', '*.log', '!keep.log', 'docs/**/*.md', 'a?c'].join('\n'),
  );
  const cases: Array<[string, boolean]> = [
    ['node_modules', true],
    ['services/x/node_modules/y/z.js', true],
    ['dist/index.js', true],
    ['packages/x/dist/index.js', false],
    ['error.log', true],
    ['keep.log', false],
    ['sub/error.log', false],
    ['docs/a/b/c.md', true],
    ['docs/c.md', true],
    ['docs/c.txt', false],
    ['abc', true],
    ['abbc', false],
  ];
  for (const [file, expected] of cases) {
    it(`${file}: ${expected ? 'excluded' : 'kept'}`, () => assert.equal(ignored(file), expected));
  }
});

describe('Dockerfile rules catch broken images', () => {
  const context = imageCheckContext(defaults);
  const original = readDockerfile();
  const changed = (from: string | RegExp, to: string): string => {
    const text = original.replace(from, to);
    assert.notEqual(text, original, `the mutation ${String(from)} must apply to the Dockerfile`);
    return text;
  };
  const broken = (service: string, from: string | RegExp, to: string): string[] =>
    checkImage(changed(from, to), service, context);
  const cases: Array<[string, string, string | RegExp, string, RegExp]> = [
    ['root in the image', 'tracker', /^USER node$/m, 'USER root', /non-root USER \(has root\)/],
    ['no USER at all', 'kafidx', /^USER node\n/m, '', /non-root USER \(has none\)/],
    [
      'a shell-form CMD',
      'tracker',
      'CMD ["node", "dist/main.js"]',
      'CMD node dist/main.js',
      /CMD must be \["node", "dist\/main.js"\]/,
    ],
    [
      'another entry point',
      'consumers',
      'CMD ["node", "dist/main.js"]',
      'CMD ["node", "dist/other.js"]',
      /CMD must be/,
    ],
    [
      "no HEALTHCHECK in the service's stage",
      'kafkastore',
      /(AS service-kafkastore\n[\s\S]*?)HEALTHCHECK[\s\S]*?"\]\n/,
      '$1',
      /needs a HEALTHCHECK/,
    ],
    [
      'a healthcheck on a fixed port',
      'kafidx',
      'process.env.KAFIDX_OPS_PORT || 8391',
      '8391',
      /follow the port variable KAFIDX_OPS_PORT/,
    ],
    [
      'an unpinned base image',
      'tracker',
      /^ARG NODE_IMAGE=.*$/m,
      'ARG NODE_IMAGE=node:20-bookworm-slim',
      /use a pinned node/,
    ],
    [
      'an Alpine base image',
      'kafidx',
      /^ARG NODE_IMAGE=.*$/m,
      'ARG NODE_IMAGE=node:20.20.2-alpine',
      /use a pinned node:<x.y.z>-bookworm-slim/,
    ],
    [
      'a runtime on top of the npm stage',
      'kafidx',
      'FROM ${NODE_IMAGE} AS runtime',
      'FROM production AS runtime',
      /must not run npm or turbo/,
    ],
    [
      'a single stage',
      'tracker',
      /^[\s\S]*$/,
      'FROM node:20.20.2-bookworm-slim\nWORKDIR /app/services/tracker\nUSER node\nCMD ["node", "dist/main.js"]\n',
      /must be multi-stage/,
    ],
    ['a source that does not exist', 'tracker', 'COPY . .', 'COPY . missing.json .', /COPY missing.json: no such file/],
    ['a source .dockerignore drops', 'tracker', 'COPY . .', 'COPY . .env .', /COPY \.env: excluded by \.dockerignore/],
    [
      'a prune of another package',
      'kafkastore',
      'turbo prune "@pushtech/${SERVICE}"',
      'turbo prune "@pushtech/tracker"',
      /a stage must run turbo prune "@pushtech\/\$\{SERVICE\}" --docker/,
    ],
    [
      'a turbo other than the one the repository pins',
      'tracker',
      /^ARG TURBO_VERSION=.*$/m,
      'ARG TURBO_VERSION=2.0.0',
      /must install turbo@\$\{TURBO_VERSION\} with ARG TURBO_VERSION=\S+ \(the root package.json's\)/,
    ],
    [
      'sources copied before the install (no reuse of the npm ci layer)',
      'consumers',
      'COPY --from=prune /app/out/json/ ./',
      'COPY --from=prune /app/out/full/ ./',
      /must COPY out\/json, npm ci \(every dependency\), then COPY out\/full and build/,
    ],
    [
      'development dependencies in the image',
      'kafidx',
      'npm ci --omit=dev',
      'npm ci',
      /install production dependencies only/,
    ],
    [
      "every pruned workspace kept, devDependencies' ones included",
      'consumers',
      'npm ls --omit=dev --all --parseable',
      'npm ls --all --parseable',
      /must keep the workspaces npm ls --omit=dev --all --parseable --workspace "services\/\$\{SERVICE\}" resolves/,
    ],
    [
      'a production stage on the build tree',
      'tracker',
      'FROM ${NODE_IMAGE} AS production',
      'FROM build AS production',
      /must start from the pruned manifests, not the build tree/,
    ],
    [
      'the build tree copied into the image',
      'tracker',
      'COPY --from=production /app ./',
      'COPY --from=production /app ./\nCOPY --from=build /app/packages packages',
      /must copy only from the production stage/,
    ],
    [
      'a build argument the stage does not declare',
      'tracker',
      'AS production\nARG SERVICE\n',
      'AS production\n',
      /RUN uses \$\{SERVICE\}, which stage production does not declare \(ARG SERVICE\)/,
    ],
    [
      'no production NODE_ENV',
      'tracker',
      'ENV NODE_ENV=production',
      'ENV NODE_ENV=development',
      /must set ENV NODE_ENV=production/,
    ],
    [
      'a misspelt ENV',
      'kafkastore',
      'GEOIP_DB=/app',
      'GEOIP_DBS=/app',
      /ENV GEOIP_DBS is read by no setting of kafkastore/,
    ],
    [
      "one service's ENV in the shared stage",
      'tracker',
      'ENV NODE_ENV=production',
      'ENV NODE_ENV=production ARCHIVE_DIR=/data/archive',
      /ENV ARCHIVE_DIR is read by no setting of tracker/,
    ],
    ['another port exposed', 'consumers', 'EXPOSE 8382', 'EXPOSE 8080', /EXPOSE 8080 must include CONSUMERS_PORT=8382/],
    [
      'a working directory elsewhere',
      'tracker',
      'WORKDIR /app/services/${SERVICE}',
      'WORKDIR /app',
      /WORKDIR must be \/app\/services\/tracker, not \/app$/m,
    ],
  ];
  for (const [what, service, from, to, expected] of cases) {
    it(`catches ${what} (SERVICE=${service})`, () => assert.match(broken(service, from, to).join('\n'), expected));
  }

  it('catches a service without its stage, and an image fixed to one service', () => {
    const renamed = checkDockerfile(changed('AS service-kafidx', 'AS service-dashboard'), context).join('\n');
    assert.match(renamed, /SERVICE=kafidx\): FROM service-kafidx: use a pinned node/);
    const fixed = checkDockerfile(
      changed('FROM service-${SERVICE} AS image', 'FROM service-tracker AS image'),
      context,
    );
    assert.match(fixed.join('\n'), /SERVICE=kafidx\): EXPOSE 8380 must include KAFIDX_PORT=8390/);
  });

  it('catches a .dockerignore that drops what turbo prune or the build reads', () => {
    const withIgnore = (extra: string): string[] =>
      checkImage(original, 'kafidx', { ...context, dockerignore: `${context.dockerignore}\n${extra}\n` });
    assert.match(
      withIgnore('packages/consumer-kit').join('\n'),
      /drops what turbo prune and the build read: packages\/consumer-kit\/package.json/,
    );
    assert.match(withIgnore('services/kafidx/public').join('\n'), /drops .*services\/kafidx\/public\//);
    assert.match(withIgnore('**/src').join('\n'), /drops .*packages\/event\/src\//);
  });
});
