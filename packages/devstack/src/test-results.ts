import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Adds up the TAP summaries (`# pass N`, `# fail N`, ...) that each workspace's test run
 * wrote, so one run prints one total whatever turbo interleaved before it.
 */
export function summarizeTapResults(
  dir: string,
): { passed: number; failed: number; skipped: number; line: string } | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.tap'));
  if (files.length === 0) return undefined;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    passed += count(text, 'pass');
    failed += count(text, 'fail') + count(text, 'cancelled');
    skipped += count(text, 'skipped') + count(text, 'todo');
  }
  const line = `tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  return { passed, failed, skipped, line };
}

function count(tap: string, key: string): number {
  // The summary lines are the last occurrence of `# <key> N` in the file.
  const matches = [...tap.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
  const last = matches[matches.length - 1];
  return last ? Number(last[1]) : 0;
}
