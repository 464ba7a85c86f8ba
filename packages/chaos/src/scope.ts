import { describeError } from '@pushtech/runtime';
/**
 * Everything a scenario starts (processes, servers, topics, temp folders) is registered here
 * right where it is created and released in reverse order, whatever way the scenario ends:
 * the broker goes last because the clients and topics before it still talk to it.
 */
export class Scope {
  private readonly steps: { name: string; run: () => Promise<void> | void }[] = [];
  private closing: Promise<void> | undefined;

  defer(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  /**
   * Runs every step once, newest first; a failing step does not stop the others, and a step
   * that hangs is given up after `stepTimeoutMs`, so a stuck client cannot keep a run from ending.
   */
  close(log: (line: string) => void, stepTimeoutMs = 60_000): Promise<void> {
    this.closing ??= (async () => {
      for (const step of this.steps.reverse()) {
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), stepTimeoutMs);
        });
        try {
          const outcome = await Promise.race([Promise.resolve().then(step.run), gaveUp]);
          if (outcome === 'timeout') log(`cleanup: gave up on ${step.name} after ${stepTimeoutMs} ms`);
          else if (Date.now() - started > 2_000) log(`cleanup: ${step.name} took ${Date.now() - started} ms`);
        } catch (error: unknown) {
          log(`cleanup: ${step.name} failed: ${describeError(error)}`);
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.closing;
  }
}

const live = new Map<number, string>();
let exitHookInstalled = false;

/**
 * Records a process the suite started. Kafka and Redis run in process groups of their own (so
 * a Ctrl-C reaches only this program); if this program dies without its cleanup, the exit
 * hook still takes them down instead of leaving them running.
 */
export function trackProcess(pid: number, name: string): () => void {
  live.set(pid, name);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killTrackedProcesses);
  }
  return () => live.delete(pid);
}

/** SIGKILLs every recorded process still running (synchronous: usable in an 'exit' handler). */
export function killTrackedProcesses(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
