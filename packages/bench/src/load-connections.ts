import { benchNumber } from './settings.js';

/**
 * How many connections the whole-pipeline benches' load generator keeps (BENCH_CONNECTIONS, 256
 * by default), each with one request at a time. A pool of N holds at most N / (answer time)
 * requests a second, and it is the slow answers that use it up: the tracker answers once Redis
 * confirmed the LPUSH (after its 2 ms linger), six or more processes share the two cores, and in
 * `npm start`'s layout the buffer Redis fsyncs every write (its slowest fsync per 10 s takes
 * 16-29 ms on the development machine's disk). With the 64 connections used until 2026-12-06
 * the pool, not the pipeline, was the limit: in the whole-pipeline bench at 12,550/s (64 allow
 * 5.1 ms per answer on average) the answers took p50 11 ms, queued in the generator, and the
 * steps above it failed with the two cores at most 85 % busy and no process using a whole one;
 * with 256 the same step answered p50 2.3 ms, p99 66 ms, and 18,763/s held. In `npm start`'s
 * layout at 3,000/s the tracker's answer p99 read 55 ms with 64 and 34 ms with 256. Phones are
 * each a connection of their own; a load balancer's pool to the trackers is larger still.
 */
export function loadConnections(env: NodeJS.ProcessEnv = process.env): number {
  return benchNumber('BENCH_CONNECTIONS', 256, { unit: 'connections', env });
}
