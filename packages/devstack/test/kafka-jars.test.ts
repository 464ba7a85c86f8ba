import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MissingPrerequisiteError } from '../src/commands.js';
import { ensureKafkaJars } from '../src/kafka-jars.js';
import { KAFKA_VERSION } from '../src/kafka-version.js';
import { cacheDir } from '../src/paths.js';

describe('ensureKafkaJars', () => {
  it('uses the cached jars without running Maven (the second run is offline)', async () => {
    // The test run itself started a broker from this cache, so it is complete here.
    const lines: string[] = [];
    const jars = await ensureKafkaJars({
      cacheRoot: cacheDir(process.env),
      log: (l) => lines.push(l),
      pathVar: '/nonexistent',
    });
    assert.equal(jars.cached, true);
    assert.equal(jars.version, KAFKA_VERSION);
    assert.deepEqual(lines, []);
  });

  it('names the missing tool and how to install it when Java or Maven is absent', async (t) => {
    const empty = mkdtempSync(path.join(tmpdir(), 'jars-'));
    t.after(() => rmSync(empty, { recursive: true, force: true }));
    await assert.rejects(ensureKafkaJars({ cacheRoot: empty, pathVar: '/nonexistent' }), (error: unknown) => {
      assert.ok(error instanceof MissingPrerequisiteError);
      assert.equal(error.command, 'java');
      assert.match(
        error.message,
        /^java is not installed \(not found on PATH\)\. .*apt-get install openjdk-17-jre-headless/,
      );
      return true;
    });
  });
});
