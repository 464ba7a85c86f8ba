import { connect, type ConnectOptions, type OpsCluster } from './cluster.js';
import { drainPod } from './drain.js';
import { OpsError, describeError } from './errors.js';
import type { OpsIo } from './io.js';
import { parseInvocation, usage } from './options.js';
import { scaleTracker } from './scale.js';
import { showStatus } from './status.js';

export type { OpsIo } from './io.js';

export interface MainOptions {
  /** How to reach the cluster; tests pass shorter deadlines. */
  readonly connect?: (options: ConnectOptions) => OpsCluster;
}

/**
 * Runs one CLI invocation and returns its exit code: 0 done, 1 failed or refused, 2 bad command
 * line, 130 interrupted. Every failure is one line on `io.err`, never a stack trace.
 */
export async function main(argv: readonly string[], io: OpsIo, options: MainOptions = {}): Promise<number> {
  try {
    const invocation = parseInvocation(argv);
    const { command } = invocation;
    if (command.name === 'help') {
      for (const line of usage.split('\n')) io.out(line);
      return 0;
    }
    const cluster = (options.connect ?? connect)({ context: invocation.context });
    switch (command.name) {
      case 'status':
        await untilInterrupted(showStatus(cluster, invocation, io), io.signal);
        break;
      case 'scale':
        await untilInterrupted(scaleTracker(cluster, invocation, io, command.replicas), io.signal);
        break;
      case 'drain':
        // Not raced: drain must not stop between marking the pod and scaling; it checks the
        // signal before it changes anything and while it follows the pod.
        await drainPod(cluster, invocation, io, command.pod);
        break;
    }
    return 0;
  } catch (error: unknown) {
    if (error instanceof OpsError) {
      io.err(`pushtech: ${error.message}`);
      return error.exitCode;
    }
    io.err(`pushtech: unexpected error: ${describeError(error).replace(/\s+/g, ' ')}`);
    return 1;
  }
}

function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = () =>
      reject(
        new OpsError(
          'interrupted',
          'interrupted; a change already sent to the cluster may still apply (check with `status`).',
        ),
      );
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}
