import net from 'node:net';
import { encodeRawHit, newEventId } from '@pushtech/event';
import { Acknowledgements, summarize } from '../audit.js';
import { redisCommand } from '../redis-command.js';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';

/** Longer than the services' own shutdown timeout (SHUTDOWN_TIMEOUT_MS, 25 s by default). */
const EXIT_TIMEOUT_MS = 40_000;
/** The pod's tracker runs with the default SHUTDOWN_TIMEOUT_MS. */
const TRACKER_BUDGET_MS = 25_000;
/** Clients uploading at once, each aborting its upload mid-body and starting another. */
const UPLOADERS = 4;
/** What an upload announces, and how much of it is sent before the client goes away. */
const DECLARED_BYTES = 900_000;
const SENT_BYTES = 256 * 1024;
const IN_FLIGHT = /^pushtech_tracker_in_flight_requests\b.* (\d+)$/m;

/**
 * Clients that start large uploads and go away mid-body (a phone losing its network), over and
 * over. Each upload carries its own request id, so the audit can tell if one ever reached Kafka.
 */
class AbortedUploads {
  readonly rids: string[] = [];
  aborted = 0;
  /** Uploads answered 2xx: must stay 0, a body that never arrived cannot be acknowledged. */
  acknowledged = 0;
  private readonly open = new Set<net.Socket>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly port: number,
    private readonly random: () => number,
  ) {}

  get inFlight(): number {
    return this.open.size;
  }

  start(): void {
    for (let i = 0; i < UPLOADERS; i += 1) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // Refused once the tracker stopped listening: try again a little later, as clients do.
      if (!(await this.upload())) await sleep(100);
    }
  }

  private async upload(): Promise<boolean> {
    const rid = `upload-${this.rids.length}-${Math.floor(this.random() * 1e9)}`;
    const socket = net.connect({ port: this.port, host: '127.0.0.1' });
    socket.on('data', (chunk: Buffer) => {
      if (/^HTTP\/1\.1 2/.test(chunk.toString('latin1'))) this.acknowledged += 1;
    });
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (!connected) {
      socket.destroy();
      return false;
    }
    socket.on('error', () => undefined);
    this.rids.push(rid);
    this.open.add(socket);
    socket.write(
      `POST /t/chaos_upload?rid=${rid} HTTP/1.1\r\nHost: chaos.example\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${DECLARED_BYTES}\r\n\r\n{"v":"${'x'.repeat(SENT_BYTES)}`,
    );
    await sleep(50 + this.random() * 200);
    socket.destroy();
    this.open.delete(socket);
    this.aborted += 1;
    return true;
  }
}

async function trackerInFlight(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = IN_FLIGHT.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export const abortedUploadsScaleDown: ScenarioDefinition = {
  name: 'aborted-uploads-scale-down',
  title: 'Aborted uploads during a pod scale-down',
  description:
    `Under load, ${UPLOADERS} clients keep starting ${DECLARED_BYTES / 1000} KB uploads and going away after ` +
    `${SENT_BYTES / 1024} KiB; mid-load tracker and kafkastore (drain on exit) get SIGTERM together while uploads ` +
    'are in flight, and the clients keep aborting and retrying.',
  recoveryDefinition:
    'not applicable (the pod is gone for good); the drain time, SIGTERM until kafkastore exited, is in the evidence',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + 4,

  async inject(ctx) {
    const { options, pod } = ctx;
    const kafkastore = pod.kafkastore;
    if (!kafkastore) throw new Error('aborted-uploads-scale-down: no kafkastore is running');
    const uploads = new AbortedUploads(Number(new URL(pod.trackerUrl).port), ctx.random);
    await ctx.at(1);
    uploads.start();
    await ctx.at(Math.max(warmupSeconds(options) + 1, options.durationSeconds * 0.5));

    // A leak shows here: every aborted upload stayed in flight (the gauge grew by one each).
    const inFlightBeforeSigterm = await trackerInFlight(pod.trackerUrl);
    // The signal comes while uploads are open (they come and go every 50-250 ms).
    const openBy = Date.now() + 2_000;
    while (uploads.inFlight === 0 && Date.now() < openBy) await sleep(5);
    const abortedBeforeSigterm = uploads.aborted;
    const uploadsAtSigterm = uploads.inFlight;
    const sigtermAt = Date.now();
    pod.tracker.signal('SIGTERM');
    kafkastore.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const [trackerExit, kafkastoreExit] = await Promise.race([
      Promise.all([pod.tracker.exited, kafkastore.exited]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `aborted-uploads-scale-down: tracker or kafkastore still running ${EXIT_TIMEOUT_MS} ms after SIGTERM`,
              ),
            ),
          EXIT_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    await uploads.stop();
    const leftInRedis = await pod.backlog();

    // Negative control: an event "acknowledged" after kafkastore's drain ended (pushed into the
    // pod's Redis now, as a tracker answering too late would have) must be reported lost.
    const lateRid = `late-ack-${newEventId()}`;
    await redisCommand(pod.redisUrl, [
      'LPUSH',
      pod.queueKeys[0],
      encodeRawHit({
        id: newEventId(),
        ts: Date.now(),
        ip: '127.0.0.1',
        host: 'chaos.example',
        pod: 'chaos-pod',
        type: 'late_ack',
        params: `rid=${lateRid}`,
        ua: '',
      }),
    ]);
    // The sidecar's Redis lives until kafkastore is gone; what it still holds now dies with the pod.
    await pod.redis.stop();
    const trackerStopMs = trackerExit.at - sigtermAt;
    ctx.log(
      `aborted-uploads-scale-down: ${uploads.aborted} uploads aborted (${uploadsAtSigterm} in flight at SIGTERM); ` +
        `tracker exited after ${trackerStopMs} ms (code ${trackerExit.code}), kafkastore after ` +
        `${kafkastoreExit.at - sigtermAt} ms (code ${kafkastoreExit.code}); ${leftInRedis ?? '?'} left in Redis`,
    );

    return {
      faults: [
        {
          what: `SIGTERM to tracker and kafkastore with ${uploadsAtSigterm} aborting uploads in flight`,
          startedAt: sigtermAt,
          endedAt: kafkastoreExit.at,
          recovers: false,
        },
      ],
      evaluate: ({ acks, load, seen }) => {
        const uploadsInKafka = uploads.rids.filter((rid) => seen.has(rid)).length;
        const withLateAck = new Acknowledgements();
        withLateAck.add(acks.ids());
        withLateAck.add([lateRid]);
        const control = summarize(withLateAck, seen);
        const lost = summarize(acks, seen).lost;
        const inFlightLimit = options.connections + UPLOADERS;
        return {
          evidence: {
            uploadsAborted: uploads.aborted,
            uploadsAbortedBeforeSigterm: abortedBeforeSigterm,
            uploadsInFlightAtSigterm: uploadsAtSigterm,
            trackerInFlightBeforeSigterm: inFlightBeforeSigterm ?? -1,
            trackerStopMs,
            drainMs: kafkastoreExit.at - sigtermAt,
            ackedAfterSigterm: acks.countBetween(sigtermAt, Number.POSITIVE_INFINITY),
            failedAfterScaleDown: load.failed,
            lateAckControlLost: control.lost,
          },
          checks: [
            {
              name: 'tracker exited 0 within its shutdown budget, kafkastore exited 0',
              ok: trackerExit.code === 0 && trackerStopMs < TRACKER_BUDGET_MS && kafkastoreExit.code === 0,
              detail:
                `tracker ${trackerExit.code ?? trackerExit.signal} after ${trackerStopMs} ms (budget ${TRACKER_BUDGET_MS}), ` +
                `kafkastore ${kafkastoreExit.code ?? kafkastoreExit.signal}`,
            },
            {
              name: 'aborted uploads left nothing in flight in the tracker',
              ok: inFlightBeforeSigterm !== undefined && inFlightBeforeSigterm <= inFlightLimit,
              detail: `${inFlightBeforeSigterm ?? 'unknown'} requests in flight after ${abortedBeforeSigterm} aborted uploads (at most ${inFlightLimit} expected)`,
            },
            {
              name: 'uploads were aborted, also during the shutdown, and none was acknowledged or reached Kafka',
              ok:
                abortedBeforeSigterm > 0 && uploadsAtSigterm > 0 && uploads.acknowledged === 0 && uploadsInKafka === 0,
              detail: `${uploads.aborted} aborted, ${uploadsAtSigterm} in flight at SIGTERM, ${uploads.acknowledged} answered 2xx, ${uploadsInKafka} in Kafka`,
            },
            {
              name: 'Redis was empty when kafkastore exited',
              ok: leftInRedis === 0,
              detail: `${leftInRedis ?? 'unknown (Redis did not answer)'} events left`,
            },
            {
              name: 'negative control: an event acknowledged after the drain ended is reported lost',
              ok: control.lost === lost + 1 && control.lostSample.includes(lateRid),
              detail: `the audit with it reports ${control.lost} lost (${control.lostSample.slice(0, 3).join(', ')})`,
            },
          ],
        };
      },
    };
  },
};
