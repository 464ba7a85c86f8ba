#!/usr/bin/env node
/**
 * npm run load -- --rate 5000 --duration 60 [--event app_open] [--batch [size]] [--target URL]
 *                 [--connections 256] [--timeout 30] [--acked FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadEnv } from '@pushtech/runtime';
import { runLoad } from './load.js';
import { probeTarget, TargetUnreachableError } from './probe.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '30' },
    event: { type: 'string' },
    batch: { type: 'string' },
    target: { type: 'string' },
    // Opened only as needed; a small pool caps the rate at pool / answer time (docs/development.md).
    connections: { type: 'string', default: '256' },
    timeout: { type: 'string' },
    acked: { type: 'string' },
    seed: { type: 'string' },
  },
  allowPositionals: false,
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`load: --${name} must be a positive number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const env = loadEnv({ processEnv: process.env, cwd: process.cwd() });
const target = values.target ?? `http://127.0.0.1:${env['TRACKER_PORT'] ?? '8380'}`;
const rate = positive('rate', values.rate);
const duration = positive('duration', values.duration);
const batchSize = values.batch === undefined ? undefined : values.batch === '' ? 50 : positive('batch', values.batch);
const acked: string[] = [];
const tty = process.stderr.isTTY;

process.stderr.write(
  `load: ${rate} events/s for ${duration} s at ${target}${batchSize ? ` in batches of ${batchSize}` : ''}${values.event ? `, event ${values.event}` : ', realistic mix'}\n`,
);
try {
  await probeTarget(new URL(target));
} catch (error: unknown) {
  if (!(error instanceof TargetUnreachableError)) throw error;
  process.stderr.write(`load: ${error.message}\n`);
  process.exit(1);
}
const result = await runLoad(
  {
    target,
    rate,
    durationSeconds: duration,
    event: values.event,
    batchSize,
    connections: positive('connections', values.connections),
    ...(values.timeout === undefined ? {} : { answerTimeoutSeconds: positive('timeout', values.timeout) }),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(values.acked ? { onAcknowledged: (rids: readonly string[]) => acked.push(...rids) } : {}),
  },
  (s, window) => {
    const rateNow = window.count * (batchSize ?? 1);
    const line = `${s.elapsedSeconds.toFixed(0).padStart(4)} s  scheduled ${s.scheduled}  ok ${s.acknowledged}  refused ${s.refused}  errors ${s.failed}  ${rateNow}/s  p50 ${window.percentile(50).toFixed(1)} ms  p99 ${window.percentile(99).toFixed(1)} ms  in flight ${s.inFlight}`;
    process.stderr.write(tty ? `\r${line.padEnd(120)}` : `${line}\n`);
  },
);
if (tty) process.stderr.write('\n');
if (result.gaveUp) process.stderr.write(`load: ${result.gaveUp}\n`);
if (values.acked) writeFileSync(values.acked, `${acked.join('\n')}\n`);

const l = result.latency;
const summary = [
  `offered ${result.scheduled} events at ${rate}/s for ${duration} s; answered within ${result.elapsedSeconds.toFixed(1)} s (${(result.acknowledged / result.elapsedSeconds).toFixed(0)} acknowledged/s)`,
  `acknowledged ${result.acknowledged}, refused ${result.refused}, failed ${result.failed}`,
  `statuses ${JSON.stringify(result.statuses)}`,
  `latency from scheduled send: p50 ${l.percentile(50).toFixed(2)} ms, p90 ${l.percentile(90).toFixed(2)} ms, p99 ${l.percentile(99).toFixed(2)} ms, max ${l.percentile(100).toFixed(2)} ms`,
];
process.stdout.write(`${summary.join('\n')}\n`);
process.exit(result.failed + result.refused > 0 ? 1 : 0);
