/**
 * The cost of removing URL passwords from every log line: the service logger (createLogger,
 * with its redaction hook) against the same pino logger without the hook, in the same run, on
 * lines without a URL (the usual case), with an e-mail-like `@`, with an error and its stack,
 * and with a URL password to remove. Prints a table and writes JSON to
 * $PUSHTECH_BENCH_RESULTS/logger-redaction.json. BENCH_LINES (default 200000) lines per round,
 * BENCH_ROUNDS (default 5) rounds, alternating the two loggers; the median round counts.
 * Times are CPU time per line; `redactUrlNs` is the hook alone on that line.
 */
import { pino, type DestinationStream } from 'pino';
import { createLogger, redactUrl, type Logger } from '@pushtech/runtime';
import { benchNumber, machineInfo, median, writeResult } from '../src/index.js';

const LINES = benchNumber('BENCH_LINES', 200_000);
const ROUNDS = benchNumber('BENCH_ROUNDS', 5);

let bytes = 0;
// Discards lines, so only the logger's own work is measured.
const sink: DestinationStream = { write: (line: string) => void (bytes += line.length) };

const withRedaction = createLogger({ service: 'bench', destination: sink });
const withoutRedaction = pino(
  {
    level: 'info',
    base: { service: 'bench' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  },
  sink,
);

const error = new Error('connect ECONNREFUSED 127.0.0.1:6379');
const lines: Record<string, (logger: Logger) => void> = {
  'no URL (typical)': (l) => l.info({ batch: 500, queue: 'pushtech:hits', ms: 3 }, 'batch produced'),
  'an @, no URL': (l) => l.info({ to: 'ops@example.com', consumer: 'event_counter' }, 'notified'),
  'error with stack': (l) => l.warn({ err: error, connection: 'kafkastore' }, 'Redis connection lost; reconnecting'),
  'URL password': (l) => l.info({ redis: 'redis://:s3cretPW@10.0.0.1:6379' }, 'redis ready'),
};

/** CPU time, not wall time: the machine is shared, and waiting for a core is not the logger's cost. */
function cpuNs(run: () => void, times: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < times; i++) run();
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / times;
}

function nsPerLine(logger: Logger, line: (logger: Logger) => void): number {
  return cpuNs(() => line(logger), LINES);
}

/** The hook alone, on the line pino wrote. */
function redactNsPerLine(line: (logger: Logger) => void): number {
  let text = '';
  const capture = pino(
    { base: { service: 'bench' }, timestamp: pino.stdTimeFunctions.isoTime },
    {
      write: (s: string) => void (text = s),
    },
  );
  line(capture);
  let n = 0;
  return cpuNs(() => void (n += redactUrl(text).length), LINES * 5);
}

const results = Object.entries(lines).map(([name, line]) => {
  nsPerLine(withRedaction, line); // warm-up of both paths
  nsPerLine(withoutRedaction, line);
  const redacted: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(nsPerLine(withoutRedaction, line));
    redacted.push(nsPerLine(withRedaction, line));
  }
  const without = median(plain);
  const withHook = median(redacted);
  return {
    line: name,
    nsPerLineWithout: Math.round(without),
    nsPerLineWith: Math.round(withHook),
    extraNs: Math.round(withHook - without),
    redactUrlNs: Number(redactNsPerLine(line).toFixed(1)),
    extraPercent: Number((((withHook - without) / without) * 100).toFixed(1)),
  };
});

console.table(results);
const report = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  lines: LINES,
  rounds: ROUNDS,
  results,
  bytesWritten: bytes,
  summary: {
    bench: 'logger-redaction',
    title: 'Logger: removing URL passwords from every line',
    // One metric per kind of line: each compares with its own baseline.
    rows: results.flatMap((r) => [
      {
        name: 'pino without the hook',
        metric: `ns CPU per line: ${r.line}`,
        value: r.nsPerLineWithout,
        baseline: true,
      },
      { name: 'the service logger (with the hook)', metric: `ns CPU per line: ${r.line}`, value: r.nsPerLineWith },
    ]),
    notes: [
      `${LINES} lines per round, ${ROUNDS} rounds alternating the two loggers, the median round; lines go to a sink that discards them, so only the logger's own work is measured`,
      ...results.map(
        (r) => `${r.line}: the hook alone ${r.redactUrlNs} ns a line, +${r.extraPercent} % on the whole line`,
      ),
    ],
  },
};
const outFile = writeResult('logger-redaction', report);
console.log(`results in ${outFile}`);
