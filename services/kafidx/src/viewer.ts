import type { WebSocket } from 'ws';
import { matchAll, matches, type ViewerFilter } from './filter.js';
import type { LiveBatch } from './event-view.js';
import type { KafidxMetrics } from './metrics.js';

export interface ViewerLimits {
  readonly maxEventsPerSecond: number;
  readonly maxBufferedBytes: number;
}

/**
 * One browser. It gets the live events its filter matches, never more than its rate allows
 * (the excess is counted as sampled), and nothing while its socket is backed up (counted as
 * skipped): a slow browser loses events, it never slows the Kafka consumer or other browsers.
 */
export class Viewer {
  filter: ViewerFilter = matchAll;
  paused = false;
  skipped = 0;
  sampled = 0;
  sent = 0;
  private windowStart = 0;
  private windowCount = 0;
  private reported = '';
  replaying = false;

  constructor(
    readonly socket: WebSocket,
    private readonly limits: ViewerLimits,
    private readonly metrics: KafidxMetrics,
  ) {}

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** Whether this browser wants live events now. */
  get watching(): boolean {
    return !this.paused && this.open;
  }

  /** Offers a batch of live events; sends the matching ones in one message when it can. */
  offer(batch: LiveBatch, now = Date.now()): void {
    if (this.paused || !this.open) return;
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    const chosen: string[] = [];
    for (const item of batch.events) {
      if (item.event && !matches(this.filter, item.event)) continue;
      if (!item.event && this.filter !== matchAll) continue;
      if (this.windowCount >= this.limits.maxEventsPerSecond) {
        this.sampled += 1;
        continue;
      }
      this.windowCount += 1;
      chosen.push(item.json);
    }
    if (chosen.length === 0) return;
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.skipped += chosen.length;
      this.metrics.skipped.inc(chosen.length);
      return;
    }
    if (chosen.length === batch.events.length) this.sendShared(batch.payload(), chosen.length);
    else this.sendFrame('events', chosen, false);
  }

  /** Replayed events wait for the socket instead of being skipped: only this browser waits. */
  async sendReplay(events: readonly string[]): Promise<void> {
    while (this.open && this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.open && events.length > 0) this.sendFrame('events', events, true);
  }

  private sendFrame(kind: 'events', events: readonly string[], replay: boolean): void {
    this.socket.send(`${this.frameHead(kind, events.length, replay)}${events.join(',')}]}`);
  }

  /**
   * The same message around a batch's shared payload, without copying it: the head, the
   * payload and the tail go out as three fragments of one text message (RFC 6455 5.4), which
   * the browser receives as one.
   */
  private sendShared(payload: Buffer, count: number): void {
    this.socket.send(this.frameHead('events', count, false), { fin: false });
    this.socket.send(payload, { binary: false, fin: false });
    this.socket.send(']}', { fin: true });
  }

  private frameHead(kind: 'events', count: number, replay: boolean): string {
    this.sent += count;
    this.metrics.sent.inc(count);
    this.reported = `${this.skipped}/${this.sampled}`;
    return `{"t":"${kind}","replay":${replay},"skipped":${this.skipped},"sampled":${this.sampled},"events":[`;
  }

  /** Tells the browser about skipped/sampled counts that no event frame carried yet. */
  reportCounters(): void {
    const now = `${this.skipped}/${this.sampled}`;
    if (now === this.reported || !this.open || this.socket.bufferedAmount > this.limits.maxBufferedBytes) return;
    this.reported = now;
    this.send({ t: 'status', skipped: this.skipped, sampled: this.sampled });
  }

  send(message: Record<string, unknown>): void {
    if (this.open) this.socket.send(JSON.stringify(message));
  }
}
