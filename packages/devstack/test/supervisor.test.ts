/**
 * A crashed service is started again after a pause that doubles up to a cap and falls back to
 * the first pause once a run stayed up long enough; stopping ends the restarts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { eventually } from '../src/testing.js';
import { superviseService } from '../src/supervisor.js';

it('restarts a crashing service with doubling pauses, reset after a stable run', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'supervisor-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'crashy');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node service.mjs' } }));
  // Runs 1-4 and 6 exit at once with code 3; run 5 stays up past stableMs, then exits too.
  const runs = path.join(root, 'runs');
  writeFileSync(
    path.join(dir, 'service.mjs'),
    `import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(runs)}, 'x');
const run = readFileSync(${JSON.stringify(runs)}, 'utf8').length;
if (run === 5) setTimeout(() => process.exit(3), 6000);
else if (run <= 6) process.exit(3);
else setInterval(() => {}, 1000);
`,
  );
  const messages: string[] = [];
  const service = superviseService({
    info: { name: 'crashy', dir },
    env: process.env,
    readyzUrl: undefined,
    write: () => undefined,
    log: (line) => messages.push(line),
    policy: { initialMs: 100, maxMs: 400, stableMs: 5000 },
  });
  t.after(() => service.stop(5_000));
  await eventually('the seventh run', () => (readFileSync(runs, 'utf8').length === 7 ? true : undefined), 60_000);
  await service.stop(5_000);
  assert.deepEqual(messages, [
    'crashy crashed (exit code 3); restarting it in 0.1 s',
    'crashy crashed (exit code 3); restarting it in 0.2 s',
    'crashy crashed (exit code 3); restarting it in 0.4 s',
    'crashy crashed (exit code 3); restarting it in 0.4 s',
    'crashy crashed (exit code 3); restarting it in 0.1 s',
    'crashy crashed (exit code 3); restarting it in 0.2 s',
  ]);
});
