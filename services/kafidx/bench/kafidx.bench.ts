/**
 * kafidx fan-out benchmark: one kafidx process, 5k events/s produced to its topic, 50 WebSocket
 * clients. Phase A: the 50 clients alone (the baseline). Phase B: the same plus one client that
 * never reads. Reports the delivered rate per client, kafidx CPU and memory, and whether the
 * stalled client changed anything for the others. Writes $PUSHTECH_BENCH_RESULTS/kafidx.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { encodeMessage, newEventId } from '@pushtech/event';
import { createAdmin, createProducer, silentLogger } from '@pushtech/runtime';
import { freePort } from '@pushtech/devstack';
import { uniqueName } from '@pushtech/devstack/testing';
import { benchNumber, benchStack, processStat, writeResult } from '@pushtech/bench';

const serviceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = benchNumber('BENCH_RATE', 5000);
const CLIENTS = benchNumber('BENCH_CLIENTS', 50);
const SECONDS = benchNumber('BENCH_SECONDS', 15);
const TOKEN = 'bench-token-0123456789abcdef';

function cpuSeconds(pid: number): number {
  return processStat(pid)?.ownSeconds ?? NaN;
}

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

interface Client {
  received: number;
  readonly ws: WebSocket;
}

async function openClient(port: number, cookie: string, stalled: boolean): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
    headers: { Cookie: cookie, Origin: `http://127.0.0.1:${port}` },
  });
  const client: Client = { received: 0, ws };
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  if (stalled) {
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  } else {
    // Counting events without parsing every frame keeps the load generator light.
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('latin1') : '';
      let at = text.indexOf('"partition":');
      while (at !== -1) {
        client.received += 1;
        at = text.indexOf('"partition":', at + 12);
      }
    });
  }
  return client;
}

async function main(): Promise<void> {
  const infra = await benchStack();
  const topic = uniqueName('bench-kafidx');
  const admin = createAdmin({ brokers: [infra.kafkaBrokers], clientId: 'bench' }, silentLogger());
  await admin.connect();
  await admin.ensureTopics([{ topic, partitions: 6 }]);

  const port = await freePort();
  const opsPort = await freePort();
  const built = existsSync(path.join(serviceDir, 'dist', 'main.js'));
  const child = spawn(
    process.execPath,
    built ? ['dist/main.js'] : ['--conditions=development', '--import', 'tsx', 'src/main.ts'],
    {
      cwd: serviceDir,
      env: {
        ...process.env,
        KAFKA_BROKERS: infra.kafkaBrokers,
        KAFKA_TOPIC: topic,
        KAFIDX_PORT: String(port),
        KAFIDX_OPS_PORT: String(opsPort),
        KAFIDX_HOST: '127.0.0.1',
        KAFIDX_TOKEN: TOKEN,
        KAFIDX_MAX_EVENTS_PER_SECOND: String(RATE * 4),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const pid = child.pid ?? 0;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const login = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    body: new URLSearchParams({ token: TOKEN }),
    redirect: 'manual',
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

  const producer = createProducer({ brokers: [infra.kafkaBrokers], clientId: 'bench' }, silentLogger());
  await producer.connect();
  const message = (i: number): string =>
    encodeMessage({
      type: i % 10 === 0 ? 'purchase' : 'app_open',
      params: [
        ['deviceid', `dev-${i % 5000}`],
        ['ts', String(Date.now())],
        ['referrer', 'website'],
      ],
      meta: {
        type: 'Mobile',
        browser: 'Mobile Safari',
        engine: 'WebKit',
        version: '17.0',
        os: 'iOS',
        host: 't.example.com',
        ts: Date.now(),
        ip: '81.169.145.94',
        klag: 4,
        country: 'DE',
        city: 'Berlin',
        id: newEventId(),
        pod: '10.1.2.3',
        extra: [],
      },
    });

  /** Produces RATE events/s for SECONDS in 50 ms slices; returns how many were produced. */
  const produceFor = async (): Promise<number> => {
    const slices = SECONDS * 20;
    const perSlice = Math.round(RATE / 20);
    const started = Date.now();
    let produced = 0;
    for (let s = 0; s < slices; s += 1) {
      await producer.send(
        topic,
        Array.from({ length: perSlice }, (_, i) => ({ value: message(produced + i) })),
      );
      produced += perSlice;
      const wait = started + (s + 1) * 50 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return produced;
  };

  const phase = async (withStalled: boolean): Promise<Record<string, number>> => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => openClient(port, cookie, false)));
    const stalled = withStalled ? await openClient(port, cookie, true) : undefined;
    await new Promise((r) => setTimeout(r, 500));
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    const produced = await produceFor();
    // Let the tail of the stream arrive before counting.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && clients.some((c) => c.received < produced))
      await new Promise((r) => setTimeout(r, 100));
    const elapsed = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const rss = rssMiB(pid);
    const received = clients.map((c) => c.received);
    for (const c of [...clients, ...(stalled ? [stalled] : [])]) c.ws.terminate();
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    return {
      produced,
      minDelivered: Math.min(...received),
      maxDelivered: Math.max(...received),
      completeClients: received.filter((r) => r >= produced).length,
      deliveredPerClientPerSecond: Math.min(...received) / SECONDS,
      kafidxCpuPercent: (cpu / elapsed) * 100,
      kafidxRssMiB: rss,
      skippedTotal: Number(/pushtech_kafidx_events_skipped_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0),
    };
  };

  console.log(`kafidx fan-out: ${RATE} events/s for ${SECONDS} s to ${CLIENTS} clients (${built ? 'built' : 'tsx'})`);
  const baseline = await phase(false);
  const withStalled = await phase(true);
  child.kill('SIGTERM');
  await producer.disconnect();
  await admin.deleteTopics([topic]);
  await admin.disconnect();

  const rows: [string, Record<string, number>][] = [
    [`${CLIENTS} clients`, baseline],
    [`${CLIENTS} clients + 1 stalled`, withStalled],
  ];
  console.log(
    '| phase                      | produced | min/client | complete clients | events/s/client | kafidx CPU | RSS MiB | skipped |',
  );
  console.log(
    '|----------------------------|----------|------------|------------------|-----------------|------------|---------|---------|',
  );
  for (const [name, r] of rows) {
    console.log(
      `| ${name.padEnd(26)} | ${String(r['produced']).padStart(8)} | ${String(r['minDelivered']).padStart(10)} | ${`${r['completeClients']}/${CLIENTS}`.padStart(16)} | ${Math.round(
        r['deliveredPerClientPerSecond'] ?? 0,
      )
        .toString()
        .padStart(
          15,
        )} | ${`${(r['kafidxCpuPercent'] ?? 0).toFixed(0)}%`.padStart(10)} | ${(r['kafidxRssMiB'] ?? 0).toFixed(0).padStart(7)} | ${String(r['skippedTotal']).padStart(7)} |`,
    );
  }
  const file = writeResult('kafidx', {
    date: new Date().toISOString(),
    rate: RATE,
    clients: CLIENTS,
    seconds: SECONDS,
    baseline,
    withStalled,
    summary: summary(baseline, withStalled),
  });
  console.log(`results in ${file}`);
  await infra.stop();
  process.exit(0);
}

function summary(alone: Record<string, number>, stalled: Record<string, number>): unknown {
  const n = (r: Record<string, number>, key: string): number => Number((r[key] ?? 0).toFixed(1));
  return {
    bench: 'kafidx',
    title: `Kafidx: ${RATE} events/s fanned out to ${CLIENTS} WebSocket clients`,
    rows: [
      { name: 'offered per client', metric: 'events/s per client', value: RATE, baseline: true },
      {
        name: 'delivered, slowest client',
        metric: 'events/s per client',
        value: n(alone, 'deliveredPerClientPerSecond'),
      },
      {
        name: 'delivered, slowest healthy client beside a stalled one',
        metric: 'events/s per client',
        value: n(stalled, 'deliveredPerClientPerSecond'),
      },
      { name: 'kafidx CPU', metric: '% of one core', value: n(alone, 'kafidxCpuPercent') },
      { name: 'kafidx CPU with a stalled client', metric: '% of one core', value: n(stalled, 'kafidxCpuPercent') },
      { name: 'kafidx RSS', metric: 'MiB', value: n(alone, 'kafidxRssMiB') },
    ],
    goals: [
      {
        goal: `every one of ${CLIENTS} clients gets every event`,
        value: `${alone['completeClients']}/${CLIENTS}`,
        met: alone['completeClients'] === CLIENTS,
      },
      {
        goal: 'a stalled client changes nothing for the others',
        value: `${stalled['completeClients']}/${CLIENTS} healthy clients complete`,
        met: stalled['completeClients'] === CLIENTS,
      },
    ],
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
