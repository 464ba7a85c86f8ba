import { parseArgs } from 'node:util';
import { OpsError } from './errors.js';

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'status' }
  | { readonly name: 'scale'; readonly replicas: number }
  | { readonly name: 'drain'; readonly pod: string };

export interface Invocation {
  readonly command: Command;
  readonly namespace: string;
  readonly release: string;
  /** Absent: the kubeconfig's current context. */
  readonly context: string | undefined;
  readonly force: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
}

export const usage = `Usage: pushtech <command> [options]      (from the repository: npm run ops -- <command> [options])

Commands:
  status               pods per component with ready counts, and each tracker pod's queue depth
  scale tracker <n>    run n tracker pods (sets the HPA's minReplicas when an HPA manages the tracker)
  drain <pod>          remove exactly this tracker pod safely: it stops accepting, its queue
                       drains to Kafka, then it ends; prints the queue depth while it drains

Options:
  -n, --namespace <ns>   namespace of the release (default pushtech)
  --release <name>       Helm release name (default pushtech)
  --context <name>       kubeconfig context (default: the current one; KUBECONFIG is honoured)
  --force                go below the safety minimums: 0 tracker pods, a PodDisruptionBudget's
                         minAvailable, an HPA's minReplicas (drain)
  --timeout <seconds>    drain: how long to follow the pod before giving up (default 600)
  --interval <seconds>   drain: time between two looks at the pod (default 2)
  -h, --help             this text`;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n', default: 'pushtech' },
        release: { type: 'string', default: 'pushtech' },
        context: { type: 'string' },
        force: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '600' },
        interval: { type: 'string', default: '2' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error: unknown) {
    throw argumentError(error, argv);
  }
  const { values, positionals } = parsed;
  const namespace = dnsName('--namespace', values.namespace, dnsLabel, 63);
  const release = dnsName('--release', values.release, dnsLabel, 53);
  const context = values.context;
  if (context !== undefined && context.trim() === '') throw usageError('--context must not be empty');
  const common = {
    namespace,
    release,
    context,
    force: values.force,
    timeoutMs: seconds('--timeout', values.timeout, 1, 86_400) * 1000,
    intervalMs: seconds('--interval', values.interval, 0.001, 3_600) * 1000,
  };
  if (values.help) return { ...common, command: { name: 'help' } };
  return { ...common, command: parseCommand(positionals) };
}

function parseCommand(positionals: readonly string[]): Command {
  const [name, ...rest] = positionals;
  switch (name) {
    case undefined:
      throw usageError('no command given; one of: status, scale tracker <n>, drain <pod>');
    case 'help':
      return { name: 'help' };
    case 'status':
      expectArguments('status', rest, 0, 'status');
      return { name: 'status' };
    case 'scale': {
      expectArguments('scale', rest, 2, 'scale tracker <n>');
      const [component, count] = rest as [string, string];
      if (component !== 'tracker') {
        throw usageError(
          `scale: only the tracker is scaled by this command, got ${JSON.stringify(component)} (usage: scale tracker <n>)`,
        );
      }
      return { name: 'scale', replicas: replicaCount(count) };
    }
    case 'drain': {
      expectArguments('drain', rest, 1, 'drain <pod>');
      const pod = rest[0] as string;
      if (!dnsSubdomain.test(pod) || pod.length > 253) {
        throw usageError(`drain: ${JSON.stringify(pod)} is not a pod name (lower-case letters, digits, '-' and '.')`);
      }
      return { name: 'drain', pod };
    }
    default:
      throw usageError(`unknown command ${JSON.stringify(name)}; one of: status, scale tracker <n>, drain <pod>`);
  }
}

function expectArguments(command: string, rest: readonly string[], count: number, form: string): void {
  if (rest.length !== count) {
    throw usageError(
      `${command}: expected ${count === 0 ? 'no arguments' : `${count} argument${count > 1 ? 's' : ''}`}, got ${rest.length === 0 ? 'none' : rest.map((r) => JSON.stringify(r)).join(' ')} (usage: ${form})`,
    );
  }
}

function replicaCount(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 2_147_483_647) {
    throw replicaError(raw);
  }
  return Number(raw);
}

function dnsName(option: string, value: string, pattern: RegExp, max: number): string {
  if (!pattern.test(value) || value.length > max) {
    throw usageError(
      `${option} ${JSON.stringify(value)} is not a valid name (lower-case letters, digits and '-', at most ${max} characters)`,
    );
  }
  return value;
}

function seconds(option: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw usageError(`${option} must be a number of seconds between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** parseArgs's messages are long and written for programmers; say it shorter. */
function argumentError(error: unknown, argv: readonly string[]): OpsError {
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const option = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // `scale tracker -1` reaches here: parseArgs takes -1 for an option.
    if (/^-\d/.test(option) && argv.includes('scale')) return replicaError(option);
    return usageError(`unknown option ${option}; run with --help for the options`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--[a-z-]+/.exec(option)?.[0] ?? option;
    return usageError(`${name} needs a value; run with --help for the options`);
  }
  return usageError(`${message}; run with --help for the options`);
}

function replicaError(raw: string): OpsError {
  return usageError(`scale: the number of tracker pods must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
}

function usageError(message: string): OpsError {
  return new OpsError('usage', message);
}
