import type { HttpResponse } from 'uWebSockets.js';

/**
 * Whether the client went away before its answer. uWebSockets.js keeps one onAborted handler
 * per response, so the route registers this one and whatever waits on the client (the body
 * reader) hooks in here: an aborted upload must settle at once, not wait for data that never
 * comes.
 */
export class ClientAbort {
  aborted = false;
  private listener: (() => void) | undefined = undefined;

  constructor(res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      const listener = this.listener;
      this.listener = undefined;
      listener?.();
    });
  }

  /** Runs `listener` once if the client goes away (replaces an earlier one). */
  whenAborted(listener: () => void): void {
    this.listener = listener;
  }

  /** The waiting is over (the body is complete): nothing runs on a later abort. */
  forget(): void {
    this.listener = undefined;
  }
}
