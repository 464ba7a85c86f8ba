import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { testInfra } from '@pushtech/devstack/testing';

const service = fileURLToPath(new URL('..', import.meta.url));
const repo = path.resolve(service, '../..');
const node = ['--conditions=development', '--import', 'tsx'];

describe('npm run new-consumer', () => {
  it('writes a consumer and its test that typecheck, pass, and are registered', async (t) => {
    // A copy of the service's sources inside the service folder, so packages resolve as usual.
    const copy = mkdtempSync(path.join(service, '.new-consumer-test-'));
    t.after(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(path.join(service, 'src'), path.join(copy, 'src'), { recursive: true });
    mkdirSync(path.join(copy, 'test'));

    const generate = spawnSync(
      process.execPath,
      [...node, path.join(service, 'scripts/new-consumer.ts'), 'signup_funnel', '--root', copy],
      { encoding: 'utf8' },
    );
    assert.equal(generate.status, 0, generate.stderr);
    assert.ok(existsSync(path.join(copy, 'src/consumers/signup-funnel.ts')));
    assert.ok(existsSync(path.join(copy, 'test/signup-funnel.test.ts')));
    const again = spawnSync(
      process.execPath,
      [...node, path.join(service, 'scripts/new-consumer.ts'), 'signup_funnel', '--root', copy],
      { encoding: 'utf8' },
    );
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists already/);

    const registry = (await import(pathToFileURL(path.join(copy, 'src/consumers/index.ts')).href)) as {
      builtInConsumers: readonly { name: string }[];
    };
    assert.deepEqual(
      registry.builtInConsumers.map((c) => c.name),
      ['event_counter', 'metadata_counter', 'stats_collector', 'archiver', 'postgres_sink', 'signup_funnel'],
    );

    writeFileSync(
      path.join(copy, 'tsconfig.json'),
      JSON.stringify({
        extends: path.join(repo, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true },
        include: ['src', 'test'],
      }),
    );
    const typecheck = spawnSync(path.join(repo, 'node_modules/.bin/tsc'), ['-p', path.join(copy, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    assert.equal(typecheck.status, 0, typecheck.stdout + typecheck.stderr);

    const prettier = spawnSync(
      path.join(repo, 'node_modules/.bin/prettier'),
      ['--check', 'src/consumers/signup-funnel.ts', 'src/consumers/index.ts', 'test/signup-funnel.test.ts'],
      { encoding: 'utf8', cwd: copy },
    );
    assert.equal(prettier.status, 0, prettier.stdout + prettier.stderr);

    const infra = await testInfra();
    const run = spawnSync(process.execPath, [...node, '--test', path.join(copy, 'test/signup-funnel.test.ts')], {
      encoding: 'utf8',
      env: { ...process.env, PUSHTECH_TEST_REDIS_URL: infra.redisUrl, PUSHTECH_TEST_KAFKA_BROKERS: infra.kafkaBrokers },
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(readFileSync(path.join(copy, 'src/consumers/index.ts'), 'utf8'), /signupFunnel,\n/);
  });
});
