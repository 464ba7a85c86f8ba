/**
 * The strip's klag p99 is computed the way Prometheus computes histogram_quantile(): checked
 * against Prometheus itself (Debian's promtool evaluates the query on the same buckets).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { latencyBucketsMs } from '@pushtech/runtime';
import { histogramQuantile } from '../src/health-readings.js';

interface Case {
  readonly q: number;
  /** Cumulative counts per upper bound (Infinity for +Inf). */
  readonly buckets: ReadonlyMap<number, number>;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function cases(): Case[] {
  const next = random(25);
  const bounds = [...latencyBucketsMs, Infinity];
  const generated: Case[] = [];
  for (let i = 0; i < 60; i += 1) {
    let total = 0;
    // Mostly empty buckets with a few busy ones, as a klag interval looks.
    const buckets = new Map(
      bounds.map((le) => {
        total += next() < 0.3 ? Math.floor(next() * 200) : 0;
        return [le, total] as [number, number];
      }),
    );
    if (total === 0) continue;
    generated.push({ q: [0.5, 0.9, 0.99, 0.999][i % 4] ?? 0.99, buckets });
  }
  const fixed = (pairs: [number, number][], q = 0.99): Case => ({ q, buckets: new Map(pairs) });
  return [
    ...generated,
    fixed([
      [2, 0],
      [5, 98],
      [500, 98],
      [1000, 100],
      [Infinity, 100],
    ]),
    fixed([
      [10, 4],
      [Infinity, 4],
    ]),
    fixed([
      [10, 1],
      [Infinity, 100],
    ]),
    fixed([
      [1, 3],
      [2, 3],
      [Infinity, 3],
    ]),
  ];
}

function series(index: number, c: Case): string[] {
  return [...c.buckets].map(
    ([le, count]) =>
      `      - series: 'klag_bucket{case="${index}",le="${le === Infinity ? '+Inf' : String(le)}"}'\n        values: '${count}'`,
  );
}

describe('klag p99 against Prometheus', () => {
  it('histogramQuantile gives what promtool gives for histogram_quantile on the same buckets', () => {
    const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    assert.equal(which.status, 0, "promtool is needed (Debian's prometheus package)");
    const all = cases();
    const tests = all.map((c, i) => {
      const mine = histogramQuantile(c.q, c.buckets);
      assert.ok(mine !== undefined && Number.isFinite(mine), `case ${i} has an answer`);
      return [
        `    promql_expr_test:`,
        `      - expr: histogram_quantile(${c.q}, klag_bucket{case="${i}"})`,
        `        eval_time: 0m`,
        `        exp_samples:`,
        `          - labels: '{case="${i}"}'`,
        `            value: ${String(mine)}`,
      ].join('\n');
    });
    const yaml = [
      'tests:',
      ...all.map((c, i) => [`  - interval: 1m`, `    input_series:`, ...series(i, c), tests[i]].join('\n')),
      '',
    ].join('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'kafidx-quantile-'));
    try {
      const file = path.join(dir, 'quantile.test.yml');
      writeFileSync(file, yaml);
      const run = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      assert.equal(run.status, 0, `promtool disagrees:\n${run.stdout}${run.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(all.length > 40, `${all.length} cases compared`);
  });
});
