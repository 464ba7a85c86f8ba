import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadEnv, parseConfig } from '@pushtech/runtime';
import { archiver } from '../src/consumers/archiver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('ARCHIVE_DIR from the root .env', () => {
  const startCwd = process.cwd();
  const made: string[] = [];
  after(() => {
    process.chdir(startCwd);
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  // The root .env says ARCHIVE_DIR=.devstack/archive; the README puts state in the root .devstack/.
  for (const cwd of [path.join(root, 'services', 'consumers'), root, path.join(root, 'packages', 'runtime', 'src')]) {
    it(`is <root>/.devstack/archive when started in ${path.relative(root, cwd) || '.'}`, () => {
      // The process's own cwd elsewhere too, so nothing can lean on it.
      const elsewhere = mkdtempSync(path.join(tmpdir(), 'archive-cwd-'));
      made.push(elsewhere);
      process.chdir(elsewhere);
      const env = loadEnv({ processEnv: {}, cwd });
      assert.equal(env['ARCHIVE_DIR'], '.devstack/archive', 'the root .env changed: this test reads its value');
      const config = parseConfig('consumer archiver', archiver.settings ?? {}, env);
      assert.equal(config['ARCHIVE_DIR'], path.join(root, '.devstack', 'archive'));
    });
  }

  it('set in the process environment, is relative to the working directory', () => {
    const cwd = path.join(root, 'services', 'consumers');
    const env = loadEnv({ processEnv: { ARCHIVE_DIR: 'out/archive' }, cwd });
    const config = parseConfig('consumer archiver', archiver.settings ?? {}, env);
    assert.equal(config['ARCHIVE_DIR'], path.join(cwd, 'out', 'archive'));
  });
});
