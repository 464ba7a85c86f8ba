/**
 * scripts/bootstrap.mjs (run by `npm start` / `npm test` / `npm run bench`): silent when
 * everything is there; before it installs or asks for a system package, one line per package
 * saying what needs it. It runs from a copy whose root holds a matching lockfile stamp, so it
 * never runs `npm ci` in the checkout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { which } from '../src/commands.js';
import { repoRoot } from '../src/paths.js';

function bootstrapCopy(t: { after(fn: () => unknown): void }): string {
  const root = mkdtempSync(path.join(tmpdir(), 'bootstrap-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'scripts'));
  mkdirSync(path.join(root, 'node_modules'));
  copyFileSync(path.join(repoRoot, 'scripts', 'bootstrap.mjs'), path.join(root, 'scripts', 'bootstrap.mjs'));
  const lock = '{"lockfileVersion":3}\n';
  writeFileSync(path.join(root, 'package-lock.json'), lock);
  writeFileSync(
    path.join(root, 'node_modules', '.pushtech-lock-hash'),
    createHash('sha256').update(lock).digest('hex'),
  );
  return root;
}

function bootstrap(root: string, purpose: string, pathVar: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'bootstrap.mjs'), purpose], {
    env: { PATH: pathVar },
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

describe('bootstrap', () => {
  it('prints nothing when every system package is there', (t) => {
    const root = bootstrapCopy(t);
    assert.deepEqual(bootstrap(root, 'test', process.env['PATH'] ?? ''), { status: 0, stderr: '' });
  });

  it('names each missing package and what needs it before anything else', (t) => {
    const root = bootstrapCopy(t);
    // A PATH with Redis, Perl, Java and Maven but none of the browser and deployment tools, and
    // no apt-get: bootstrap must list what is missing, then ask for it.
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    for (const command of ['redis-server', 'perl', 'java', 'mvn']) {
      const found = which(command);
      if (found === undefined) assert.fail(`${command} must be installed for this test`);
      symlinkSync(found, path.join(bin, command));
    }
    const { status, stderr } = bootstrap(root, 'test', bin);
    assert.equal(status, 1);
    assert.deepEqual(stderr.trimEnd().split('\n'), [
      'bootstrap: `npm test` needs 5 Debian package(s) not installed yet:',
      "bootstrap:   chromium    the kafidx dashboard's end-to-end test drives a real headless browser",
      'bootstrap:   unzip       the deployment tests unpack helm and kubectl from an npm package',
      'bootstrap:   prometheus  promtool tests the alert rules; `npm start` and the tests run a Prometheus of their own',
      'bootstrap:   ruby        the deployment tests run the Rakefile',
      'bootstrap:   rake        the deployment tests run `rake -T`',
      "bootstrap: missing Debian packages: run `sudo apt-get install chromium unzip prometheus ruby rake` (or your system's equivalents), then retry",
    ]);
  });
});
