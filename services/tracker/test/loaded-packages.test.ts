/**
 * What the tracker's process loads: no Kafka client. It never talks to Kafka, and the two
 * clients cost a process about 50 MB of resident memory (an idle tracker: 161 -> 112 MB), which
 * the tracker's RSS goal (< 150 MiB after a run at full speed) cannot spare. The control runs
 * the same probe on kafkastore, which does load them, so the probe can see them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const KAFKA_CLIENTS = ['kafkajs', '@platformatic/kafka'];

/**
 * The npm packages (outside the workspaces) that starting `entry` loads. The entry is run with a
 * setting it refuses, so it stops after its imports are resolved and before it serves.
 */
function packagesLoaded(entry: string): Set<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'loaded-packages-'));
  try {
    const file = path.join(dir, 'resolved.txt');
    const run = spawnSync(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        '--import',
        path.join(here, 'fixtures', 'record-packages.ts'),
        entry,
      ],
      {
        cwd: path.dirname(path.dirname(entry)),
        env: { ...process.env, PUSHTECH_RECORD_PACKAGES: file, LOG_LEVEL: 'not-a-level' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.notEqual(run.status, 0, `${entry} was expected to stop on LOG_LEVEL; it exited ${run.status}`);
    assert.match(run.stderr + run.stdout, /LOG_LEVEL/, 'it stopped on the bad setting, not on something else');
    const packages = new Set<string>();
    for (const url of readFileSync(file, 'utf8').split('\n')) {
      const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (match?.[1] !== undefined) packages.add(match[1]);
    }
    return packages;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('packages a service process loads', () => {
  it('the tracker loads no Kafka client; kafkastore, the control, loads both', { timeout: 180_000 }, () => {
    const tracker = packagesLoaded(path.join(repo, 'services', 'tracker', 'src', 'main.ts'));
    assert.ok(
      tracker.has('ioredis') && tracker.has('uWebSockets.js'),
      `the probe sees the tracker's packages: ${[...tracker].join(', ')}`,
    );
    for (const client of KAFKA_CLIENTS) assert.equal(tracker.has(client), false, `the tracker loads ${client}`);

    const kafkastore = packagesLoaded(path.join(repo, 'services', 'kafkastore', 'src', 'main.ts'));
    for (const client of KAFKA_CLIENTS) assert.ok(kafkastore.has(client), `kafkastore loads ${client}`);
  });
});
