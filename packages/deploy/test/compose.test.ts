import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '@pushtech/runtime';
import { devstackSettings, pipelineTopics } from '@pushtech/devstack';
import { builtServiceDir, checkProject, runtimeOf } from '../src/compose-checks.js';
import {
  DOCKERFILE,
  checkImage,
  imageCheckContext,
  readDockerfile,
  serviceNames,
} from '../src/compose-image-checks.js';
import { dockerignoreMatcher } from '../src/compose-dockerfile.js';
import { bindMounts, checkMetricsStack, hostPathOf, prometheusConfigTarget } from '../src/compose-metrics.js';
import {
  ComposeError,
  composeDir,
  composeFiles,
  isMap,
  loadProject,
  readEnvFile,
  repoRoot,
  type ComposeProject,
  type ComposeService,
  type Lookup,
} from '../src/compose-files.js';

const TOKEN = 'compose-test-token-0123456789abcdef';
const withToken: Lookup = (name) => (name === 'KAFIDX_TOKEN' ? TOKEN : undefined);
const defaults = readEnvFile(path.join(repoRoot, '.env'));
const pipelineFile = path.join(composeDir, 'pipeline.yml');

/** The component files each one needs beside it when run alone (`docker compose -f a -f b`). */
const standalone: Readonly<Record<string, readonly string[]>> = {
  'redis.yml': [],
  'kafka.yml': [],
  'tracker.yml': ['redis.yml'],
  'kafkastore.yml': ['redis.yml', 'kafka.yml'],
  'consumers.yml': ['kafka.yml'],
  'kafidx.yml': ['kafka.yml'],
};

/** What `docker compose -f a -f b ...` sees for files that define disjoint services. */
function merged(files: readonly string[]): ComposeProject {
  const projects = files.map((f) => loadProject(path.join(composeDir, f), withToken));
  return {
    file: projects[0]?.file ?? '',
    services: new Map(projects.flatMap((p) => [...p.services])),
    volumes: new Set(projects.flatMap((p) => [...p.volumes])),
  };
}

function composeAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('docker-compose/', () => {
  it('every file parses, interpolates, and (where Compose is installed) passes docker compose config', () => {
    assert.deepEqual(composeFiles(), [...Object.keys(standalone), 'metrics.yml', 'pipeline.yml'].sort());
    for (const file of composeFiles()) {
      loadProject(path.join(composeDir, file), withToken);
      // One project name whichever files are combined, so the volumes are the same ones.
      const { name } = parseYaml(readFileSync(path.join(composeDir, file), 'utf8')) as { name?: unknown };
      assert.equal(name, 'pushtech', `${file}: name`);
    }
    if (composeAvailable()) {
      const env = { ...process.env, KAFIDX_TOKEN: TOKEN };
      for (const [file, needs] of [...Object.entries(standalone), ['pipeline.yml', []] as const]) {
        const args = [...needs, file].flatMap((f) => ['-f', path.join(composeDir, f)]);
        execFileSync('docker', ['compose', ...args, 'config', '--quiet'], { env, stdio: 'pipe' });
      }
      const withMetrics = ['pipeline.yml', 'metrics.yml'].flatMap((f) => ['-f', path.join(composeDir, f)]);
      execFileSync('docker', ['compose', ...withMetrics, 'config', '--quiet'], { env, stdio: 'pipe' });
    }
  });

  it('pipeline.yml includes every component file, so it runs every service of the repository', () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const components = merged(Object.keys(standalone));
    assert.deepEqual([...pipeline.services.keys()].sort(), [...components.services.keys()].sort());
    assert.deepEqual([...pipeline.volumes].sort(), [...components.volumes].sort());
    const built = [...pipeline.services.values()].map(builtServiceDir).filter((d) => d !== undefined);
    const deployables = readdirSync(path.join(repoRoot, 'services'))
      .filter((name) => existsSync(path.join(repoRoot, 'services', name, 'package.json')))
      .map((name) => `services/${name}`);
    assert.deepEqual(built.sort(), deployables.sort());
  });

  it('the whole pipeline keeps the deployment rules (healthchecks, depends_on, ports, env the services accept)', () => {
    assert.deepEqual(checkProject(loadProject(pipelineFile, withToken), defaults), []);
  });

  for (const [file, needs] of Object.entries(standalone)) {
    it(`${file} runs alone next to ${needs.join(' and ') || 'nothing else'}, as its header says`, () => {
      assert.deepEqual(checkProject(merged([...needs, file]), defaults), []);
      const header = readFileSync(path.join(composeDir, file), 'utf8');
      for (const need of needs) assert.match(header, new RegExp(`-f docker-compose/${need.replace('.', '\\.')}`));
    });
  }

  it('refuses to start kafidx without KAFIDX_TOKEN, and says how to set it', () => {
    for (const lookup of [(): undefined => undefined, (n: string) => (n === 'KAFIDX_TOKEN' ? '' : undefined)]) {
      assert.throws(
        () => loadProject(pipelineFile, lookup),
        (error: unknown) =>
          error instanceof ComposeError &&
          /KAFIDX_TOKEN: set KAFIDX_TOKEN to a secret of 16 to 256/.test(error.message),
      );
    }
  });

  it('the containers reach Redis and Kafka by service name, and the host keeps the addresses of .env', () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const env = (name: string): Record<string, string> => runtimeOf(pipeline.services.get(name) as ComposeService).env;
    assert.equal(env('tracker')['REDIS_URL'], 'redis://redis:6379');
    assert.equal(env('kafkastore')['REDIS_URL'], 'redis://redis:6379');
    assert.equal(env('kafkastore')['KAFKA_BROKERS'], 'kafka:9092');
    assert.equal(env('kafidx')['KAFIDX_TOKEN'], TOKEN);
    // The image's GeoIP default survives .env's relative paths only because compose sets it again.
    assert.match(env('kafkastore')['GEOIP_DB'] ?? '', /^\/app\/node_modules\/@ip-location-db\/dbip-city-mmdb\//);
  });

  it("keeps the consumers' state in their own Redis, apart from the tracker's buffer (issue 20)", () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const redisOf = (service: ComposeService): string | undefined => runtimeOf(service).env['REDIS_URL'];
    const consumers = pipeline.services.get('consumers') as ComposeService;
    assert.equal(redisOf(consumers), 'redis://redis-consumers:6379');
    const buffer = [...pipeline.services].filter(([, s]) => redisOf(s) === 'redis://redis:6379').map(([n]) => n);
    assert.deepEqual(buffer.sort(), ['kafkastore', 'tracker']);
    const own = pipeline.services.get('redis-consumers') as ComposeService;
    const command = (own.definition['command'] as string[]).join(' ');
    assert.match(command, /--appendfsync always/);
    assert.match(command, /--maxmemory-policy noeviction/);
  });

  it('gives every kafkastore replica its own instance name: the container host name (issue 19)', () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const kafkastore = pipeline.services.get('kafkastore') as ComposeService;
    // A fixed name (in the file or in .env) or a fixed host name is shared by `--scale` replicas.
    assert.equal(
      runtimeOf(kafkastore).env['KAFKASTORE_INSTANCE'],
      undefined,
      'KAFKASTORE_INSTANCE left to its default',
    );
    assert.equal(kafkastore.definition['hostname'], undefined, 'no fixed hostname');
    assert.equal(kafkastore.definition['container_name'], undefined, 'no fixed container name');
  });

  it('the topic job creates the topics the devstack creates, named and sized by .env', () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const job = pipeline.services.get('kafka-topics') as ComposeService;
    assert.equal(job.definition['image'], pipeline.services.get('kafka')?.definition['image']);
    const [shell, flag] = job.definition['entrypoint'] as string[];
    const script = (job.definition['command'] as string[])[0] as string;
    const tool = '/opt/kafka/bin/kafka-topics.sh';
    assert.ok(script.includes(tool), `the job must use ${tool} of the Kafka image`);

    const dir = mkdtempSync(path.join(tmpdir(), 'compose-topics-'));
    try {
      const stub = path.join(dir, 'kafka-topics.sh');
      writeFileSync(stub, '#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n');
      chmodSync(stub, 0o755);
      const runJob = (
        overrides: Record<string, string>,
      ): { created: unknown[]; expected: unknown[]; calls: string[] } => {
        const env = { ...runtimeOf(job).env, ...overrides };
        const calls = path.join(dir, `calls-${Object.keys(overrides).length}`);
        execFileSync(shell as string, [flag as string, script.replaceAll(tool, stub)], {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env, CALLS: calls },
        });
        const lines = readFileSync(calls, 'utf8').trim().split('\n');
        const created = lines
          .filter((l) => l.includes('--create'))
          .map((l) => ({
            topic: /--topic (\S+)/.exec(l)?.[1],
            partitions: Number(/--partitions (\d+)/.exec(l)?.[1]),
            ifNotExists: l.includes('--if-not-exists'),
          }));
        const expected = pipelineTopics(parseConfig('devstack', devstackSettings, env)).map((t) => ({
          ...t,
          ifNotExists: true,
        }));
        return { created, expected, calls: lines };
      };
      const asIs = runJob({});
      assert.deepEqual(asIs.created, asIs.expected);
      assert.ok(
        asIs.calls.every((l) => l.includes('--bootstrap-server kafka:9092')),
        asIs.calls.join('\n'),
      );
      const other = runJob({ KAFKA_TOPIC: 'clicks', KAFKA_DLQ_TOPIC: '', KAFKA_TOPIC_PARTITIONS: '3' });
      assert.deepEqual(other.created, other.expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker-compose/metrics.yml: Prometheus and Grafana beside the pipeline', () => {
  const stack = (): ComposeProject => merged(['pipeline.yml', 'metrics.yml']);

  it('runs next to pipeline.yml, as its header says, and keeps the deployment rules', () => {
    assert.match(
      readFileSync(path.join(composeDir, 'metrics.yml'), 'utf8'),
      /-f docker-compose\/pipeline\.yml -f docker-compose\/metrics\.yml/,
    );
    const project = stack();
    assert.deepEqual(checkProject(project, defaults), []);
    for (const name of ['prometheus', 'grafana']) {
      assert.match(
        String(project.services.get(name)?.definition['image']),
        /^(prom\/prometheus|grafana\/grafana):v?\d+\.\d+\.\d+$/,
        name,
      );
    }
  });

  it("mounts paths that exist, loads monitoring/alerts.yml, scrapes every service on its metrics port under the rules' job names, and provisions Grafana", () => {
    assert.deepEqual(checkMetricsStack(stack()), []);
  });

  it('is a config promtool accepts, with the rules as mounted', (t) => {
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('promtool is not installed (Debian: apt-get install prometheus)');
      return;
    }
    const prometheus = stack().services.get('prometheus') as ComposeService;
    const root = mkdtempSync(path.join(tmpdir(), 'compose-prometheus-'));
    try {
      // The container's /etc/prometheus, rebuilt from the bind mounts.
      for (const mount of bindMounts(prometheus)) {
        const target = path.join(root, mount.target);
        mkdirSync(path.dirname(target), { recursive: true });
        cpSync(mount.source, target, { recursive: true });
      }
      const output = execFileSync(
        'promtool',
        ['check', 'config', path.join(root, prometheusConfigTarget(prometheus))],
        {
          encoding: 'utf8',
        },
      );
      assert.match(output, /SUCCESS: 1 rule files found/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  const breakages: Array<[string, (config: string) => string, RegExp]> = [
    [
      'a scrape port the service does not listen on',
      (c) => c.replace('port: 8391', 'port: 8390'),
      /job pushtech-kafidx scrapes port 8390; kafidx serves \/metrics on 8391/,
    ],
    [
      'a target that is no service',
      (c) => c.replace('names: [consumers]', 'names: [consumer]'),
      /scrapes consumer, which is no service/,
    ],
    [
      'a job name the rules do not know',
      (c) => c.replace('job_name: pushtech-tracker', 'job_name: tracker'),
      /no scrape job pushtech-tracker[\s\S]*job tracker is not one of the rules' jobs/,
    ],
    [
      'a rule file that is not mounted',
      (c) => c.replace('- alerts.yml', '- rules.yml'),
      /rule file \/etc\/prometheus\/rules\.yml is not mounted/,
    ],
  ];
  for (const [what, change, expected] of breakages) {
    it(`catches ${what}`, () => {
      const project = stack();
      const prometheus = project.services.get('prometheus') as ComposeService;
      const configTarget = prometheusConfigTarget(prometheus);
      const original = hostPathOf(prometheus, configTarget) as string;
      const dir = mkdtempSync(path.join(tmpdir(), 'compose-metrics-'));
      try {
        const broken = path.join(dir, 'prometheus.yml');
        writeFileSync(broken, change(readFileSync(original, 'utf8')));
        const volumes = (prometheus.definition['volumes'] as string[]).map((v) =>
          v.endsWith(`:${configTarget}:ro`) ? `${broken}:${configTarget}:ro` : v,
        );
        const services = new Map(project.services);
        services.set('prometheus', { ...prometheus, definition: { ...prometheus.definition, volumes } });
        assert.match(checkMetricsStack({ ...project, services }).join('\n'), expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('catches a mount of a path that does not exist', () => {
    const project = stack();
    const grafana = project.services.get('grafana') as ComposeService;
    const volumes = (grafana.definition['volumes'] as string[]).map((v) =>
      v.replace('../monitoring/dashboards', '../monitoring/dashbaords'),
    );
    const services = new Map(project.services);
    services.set('grafana', { ...grafana, definition: { ...grafana.definition, volumes } });
    assert.match(
      checkMetricsStack({ ...project, services }).join('\n'),
      /grafana: mounts \S+dashbaords, which does not exist/,
    );
  });
});

describe('the Dockerfile of the service images', () => {
  const context = imageCheckContext(defaults);
  const text = readDockerfile();

  for (const name of serviceNames()) {
    it(`SERVICE=${name}: prune -> build -> production install, non-root, node dist/main.js, healthcheck`, () => {
      assert.deepEqual(checkImage(text, name, context), []);
    });
  }

  it('.dockerignore keeps dependencies, build output, local state, tests and secrets out of the build context', () => {
    const ignored = dockerignoreMatcher(context.dockerignore);
    for (const excluded of [
      'node_modules/yaml/package.json',
      'services/tracker/node_modules/x',
      'packages/runtime/dist/index.js',
      '.turbo/cache',
      'services/kafidx/.turbo/x',
      '.devstack/redis/appendonly.aof',
      '.test-results/runtime.tap',
      '.bench-results/event.json',
      '.test-artifacts/x.png',
      '.git/HEAD',
      '.env',
      '.env.local',
      'services/tracker/test/server.test.ts',
      'services/tracker/bench/tracker.bench.ts',
      'packages/runtime/src/dotenv.test.ts',
    ]) {
      assert.equal(ignored(excluded), true, `${excluded} must be excluded`);
    }
    for (const kept of [
      'package.json',
      'package-lock.json',
      'turbo.json',
      'tsconfig.base.json',
      'packages/runtime/src/index.ts',
      ...[...context.workspaces.values()].map((w) => `${w.dir}/package.json`),
    ]) {
      assert.equal(ignored(kept), false, `${kept} must stay in the context`);
    }
  });

  it('each compose build is this Dockerfile with the repository root as context and a SERVICE of services/', () => {
    const pipeline = loadProject(pipelineFile, withToken);
    const services = serviceNames();
    for (const service of pipeline.services.values()) {
      const build = service.definition['build'];
      if (build === undefined) continue;
      assert.ok(isMap(build), `${service.name}: build must be a map`);
      assert.equal(path.resolve(path.dirname(service.file), String(build['context'])), repoRoot, service.name);
      assert.equal(build['dockerfile'], DOCKERFILE, service.name);
      assert.ok(
        services.some((name) => builtServiceDir(service) === `services/${name}`),
        service.name,
      );
    }
  });
});
