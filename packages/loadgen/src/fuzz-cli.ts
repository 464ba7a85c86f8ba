#!/usr/bin/env node
/**
 * npm run fuzz -- [--seconds 120] [--target http://127.0.0.1:8380] [--seed N] [--workers 16]
 * Malformed traffic at a running tracker; fails when an answer breaks the rules (a refusal
 * without a one-line JSON reason, a server error, a well-formed forwarded request not stored),
 * the tracker stops answering /healthz, or requests stay in flight after the run (an aborted
 * body that never settled).
 * The test suite runs a short version with kafkastore behind it and checks Kafka as well.
 */
import { parseArgs } from 'node:util';
import { loadEnv } from '@pushtech/runtime';
import { answerProblem, fuzzCases, sendCase, type FuzzCase } from './fuzz.js';
import { probeTarget, TargetUnreachableError, UnreachableWatch } from './probe.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    target: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    workers: { type: 'string', default: '16' },
  },
});
const env = loadEnv({ processEnv: process.env, cwd: process.cwd() });
const target = new URL(values.target ?? `http://127.0.0.1:${env['TRACKER_PORT'] ?? '8380'}`);
const port = Number(target.port);
const until = Date.now() + Number(values.seconds) * 1000;
const cases = fuzzCases(Number(values.seed));
const counts = new Map<string, number>();
const problems: string[] = [];
let answers = 0;

process.stderr.write(`fuzz: ${values.seconds} s at ${target.origin}, seed ${values.seed}\n`);
try {
  await probeTarget(target);
} catch (error: unknown) {
  if (!(error instanceof TargetUnreachableError)) throw error;
  process.stderr.write(`fuzz: ${error.message}\n`);
  process.exit(1);
}
// A tracker that goes away mid-run: refused connections are not answers.
const watch = new UnreachableWatch(5);
let gaveUp: string | undefined;
const progress = setInterval(
  () => process.stderr.write(`fuzz: ${answers} answers, ${problems.length} problems\n`),
  5000,
);
await Promise.all(
  Array.from({ length: Number(values.workers) }, async () => {
    while (Date.now() < until && gaveUp === undefined) {
      for (const answer of await sendCase(port, cases.next().value as FuzzCase)) {
        if (answer.unreachable) {
          watch.failed();
          gaveUp ??= watch.verdict(target.origin);
          continue;
        }
        watch.answered();
        answers += 1;
        const key = `${answer.kind} ${answer.status ?? 'closed'}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const problem = answerProblem(answer);
        if (problem) problems.push(problem);
      }
    }
  }),
);
clearInterval(progress);
if (gaveUp) {
  process.stderr.write(`fuzz: ${gaveUp}\n`);
  process.exit(1);
}
const alive = await fetch(`${target.origin}/healthz`).then(
  (r) => r.status === 200,
  () => false,
);
const inFlight = async (): Promise<number> => {
  const text = await fetch(`${target.origin}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  return Number(/^pushtech_tracker_in_flight_requests(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
};
let left = await inFlight();
for (let tries = 0; left !== 0 && tries < 50; tries += 1) {
  await new Promise((r) => setTimeout(r, 100));
  left = await inFlight();
}
if (left !== 0) problems.push(`requests still in flight 5 s after the run: ${left}`);
process.stdout.write(
  `${[...counts.entries()]
    .sort()
    .map(([k, n]) => `  ${k}: ${n}`)
    .join('\n')}\n`,
);
process.stdout.write(
  `fuzz: ${answers} answers, ${problems.length} problems, tracker ${alive ? 'alive' : 'NOT answering'}\n`,
);
for (const p of problems.slice(0, 20)) process.stdout.write(`  ${p}\n`);
process.exit(problems.length === 0 && alive ? 0 : 1);
