#!/usr/bin/env node
// The `pushtech` command (`npm run ops -- <command>` from the repository).
import { main } from './main.js';

const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
process.once('SIGTERM', () => interrupt.abort());

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  signal: interrupt.signal,
});
// An interrupted command may leave a request in flight that would hold the process open.
if (code === 130) process.exit(code);
process.exitCode = code;
