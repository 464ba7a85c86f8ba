#!/usr/bin/env node
// The dead-letter command (`npm run dlq -- <command>` from the repository).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createLogger, findDotEnv, loadEnv } from '@pushtech/runtime';
import { main } from './main.js';

// `npm run dlq -- list | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const cwd = process.cwd();
const dotEnv = findDotEnv(cwd);
const env = loadEnv({ processEnv: process.env, cwd, file: dotEnv });
process.exitCode = await main(process.argv.slice(2), {
  env,
  baseDir: dotEnv !== undefined && existsSync(dotEnv) ? path.dirname(dotEnv) : cwd,
  io: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
  // Results go to stdout; the clients' warnings, if any, to stderr.
  logger: createLogger({ service: 'dlq', level: 'warn', destination: process.stderr }),
});
