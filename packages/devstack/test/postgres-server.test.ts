import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runToEnd } from '../src/child-process.js';
import { MissingPrerequisiteError } from '../src/commands.js';
import { isAlive } from '../src/leftovers.js';
import { freePort } from '../src/ports.js';
import { postgresBinDir, startPostgresServer } from '../src/postgres-server.js';

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-pg-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function psql(port: number, sql: string): Promise<string> {
  const answer = await runToEnd(path.join(postgresBinDir(), 'psql'), [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'pushtech',
    '-d',
    'pushtech',
    '-XAtc',
    sql,
  ]);
  assert.equal(answer.code, 0, answer.text);
  return answer.text.trim();
}

describe('local PostgreSQL (devstack)', () => {
  it('finds Debian binaries off PATH, and names the package when there are none', (t) => {
    assert.ok(statSync(path.join(postgresBinDir(''), 'postgres')).isFile());
    const empty = scratch(t);
    assert.throws(
      () => postgresBinDir('', empty),
      (error: unknown) => error instanceof MissingPrerequisiteError && /apt-get install postgresql/.test(error.message),
    );
  });

  it('initdb on first start, a pushtech database on loopback, data kept across a restart', async (t) => {
    const dir = path.join(scratch(t), 'postgres');
    const port = await freePort();
    const first = await startPostgresServer({ port, dir });
    t.after(() => first.stop());
    assert.equal(first.url, `postgres://pushtech@127.0.0.1:${port}/pushtech`);
    assert.equal(await psql(port, 'show listen_addresses'), '127.0.0.1');
    await psql(port, 'create table kept (n int); insert into kept values (42)');
    if (process.getuid?.() === 0) {
      assert.notEqual(statSync(path.join(dir, 'data')).uid, 0, 'as root, the data folder belongs to postgres');
      assert.equal(await psql(port, "select current_setting('data_directory') is not null"), 't');
    }
    await first.stop();
    assert.equal(isAlive(first.process.pid), false, 'stopped');

    const second = await startPostgresServer({ port, dir });
    t.after(() => second.stop());
    assert.equal(await psql(port, 'select n from kept'), '42');
  });

  it('refuses a port that another PostgreSQL serves, and leaves it running', async (t) => {
    const root = scratch(t);
    const port = await freePort();
    const first = await startPostgresServer({ port, dir: path.join(root, 'a') });
    t.after(() => first.stop());
    mkdirSync(path.join(root, 'b'));
    await assert.rejects(
      startPostgresServer({ port, dir: path.join(root, 'b'), startTimeoutMs: 20_000 }),
      /another PostgreSQL/,
    );
    assert.equal(await psql(port, 'select 1'), '1');
  });
});
