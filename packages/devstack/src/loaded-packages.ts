/**
 * Which npm packages a service's process loads, for tests that keep a heavy dependency out of a
 * process that does not need it (the Kafka clients cost about 12 and 51 MB of memory).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The npm packages (outside the workspaces) that starting `entry` (a service's src/main.ts)
 * loads. The entry is run with a LOG_LEVEL it refuses, so it stops after its imports are
 * resolved and before it connects to anything or serves; a module it would import only later
 * (on connect) is not in the list.
 */
export function packagesLoaded(entry: string): Set<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'loaded-packages-'));
  try {
    const file = path.join(dir, 'resolved.txt');
    const recorder = path.join(here, `record-packages${path.extname(fileURLToPath(import.meta.url))}`);
    const run = spawnSync(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', '--import', recorder, entry],
      {
        cwd: path.dirname(path.dirname(entry)),
        env: { ...process.env, PUSHTECH_RECORD_PACKAGES: file, LOG_LEVEL: 'not-a-level' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const output = `${run.stderr}${run.stdout}`.trim();
    if (run.status === 0 || !/LOG_LEVEL/.test(output)) {
      // Not stopped by the bad setting: the list may be whole or not, so it is not trusted.
      throw new Error(`${entry} did not stop on LOG_LEVEL (exit ${run.status}): ${output.slice(-1000)}`);
    }
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
