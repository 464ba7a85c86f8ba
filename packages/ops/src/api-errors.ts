import { ApiException } from '@kubernetes/client-node';
import { OpsError, describeError } from './errors.js';

/** Where the CLI talks to, named in every error so the operator sees which cluster said no. */
export interface ClusterTarget {
  readonly context: string;
  readonly server: string;
}

/**
 * A Kubernetes API call that failed, as one line: what was being done, what the API server (or
 * the network) said, and what to do. `status` is the HTTP status, absent when no answer came.
 */
export class ApiFailure extends OpsError {
  readonly status: number | undefined;
  readonly action: string;
  /** The API server's own message (a Status object's `message`), or the network error. */
  readonly reason: string;
  /** Status and reason without the action and the advice, for tables. */
  readonly summary: string;

  constructor(action: string, status: number | undefined, reason: string, advice: string, cause: unknown) {
    const said = status === undefined ? reason : `${statusName(status)} (${status})${reason ? `: ${reason}` : ''}`;
    super('api', `${action} failed: ${said}. ${advice}`, { cause });
    this.name = 'ApiFailure';
    this.status = status;
    this.action = action;
    this.reason = reason;
    this.summary = said;
  }
}

export function isApiFailure(error: unknown, status?: number): error is ApiFailure {
  return error instanceof ApiFailure && (status === undefined || error.status === status);
}

/** Runs `read`; a 404 comes back as the same failure with `advice` on what to check instead. */
export async function adviseOnNotFound<T>(read: () => Promise<T>, advice: string): Promise<T> {
  try {
    return await read();
  } catch (error: unknown) {
    if (isApiFailure(error, 404)) throw new ApiFailure(error.action, 404, error.reason, advice, error);
    throw error;
  }
}

const networkCodes: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Turns whatever the client library threw into an ApiFailure with advice for the status. */
export function explainApiError(error: unknown, action: string, target: ClusterTarget, timeoutMs: number): ApiFailure {
  const where = `context ${target.context}, ${target.server}`;
  if (error instanceof ApiException) {
    const status = error.code;
    const reason = serverMessage(error.body);
    return new ApiFailure(action, status, reason, adviceFor(status, target, where), error);
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new ApiFailure(
      action,
      undefined,
      `no answer from the Kubernetes API within ${timeoutMs / 1000} s`,
      `Check that the cluster is healthy (${where}) and try again.`,
      error,
    );
  }
  const code = errorCode(error);
  if (code !== undefined && networkCodes[code] !== undefined) {
    return new ApiFailure(
      action,
      undefined,
      `cannot reach the Kubernetes API at ${target.server} (${networkCodes[code]})`,
      `Is the cluster running (e.g. \`minikube start\`) and is --context right (using ${target.context})?`,
      error,
    );
  }
  const message = describeError(error);
  if (message.includes('HTTP protocol is not allowed')) {
    return new ApiFailure(
      action,
      undefined,
      `the server of context ${target.context} is plain http (${target.server})`,
      'The Kubernetes client talks plain http only with `insecure-skip-tls-verify: true` in that cluster entry of the kubeconfig; set it, or use the https address.',
      error,
    );
  }
  return new ApiFailure(action, undefined, message, `Check the kubeconfig and the cluster (${where}).`, error);
}

function adviceFor(status: number, target: ClusterTarget, where: string): string {
  switch (status) {
    case 401:
      return `The API server refused the credentials of ${where}: log in again or refresh the token in the kubeconfig.`;
    case 403:
      return `The account of context ${target.context} lacks a permission: grant it the RBAC listed in packages/ops/README.md, or use another --context.`;
    case 404:
      return `Check --release and --namespace (${where}).`;
    case 409:
      return 'The object changed while this command ran (another client or the HPA wrote it); run the command again.';
    case 422:
      return 'The API server rejected the change as invalid; nothing was changed.';
    case 429:
      return 'The API server is throttling requests; wait a moment and run the command again.';
    default:
      return status >= 500
        ? `The API server (or the pod behind a proxy request) had a problem; try again (${where}).`
        : `Unexpected answer from the API server (${where}).`;
  }
}

function statusName(status: number): string {
  const names: Readonly<Record<number, string>> = {
    400: 'bad request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not found',
    409: 'conflict',
    422: 'invalid',
    429: 'too many requests',
    500: 'internal error',
    502: 'bad gateway',
    503: 'service unavailable',
    504: 'gateway timeout',
  };
  return names[status] ?? 'error';
}

/** The `message` of a Kubernetes Status body (JSON text), else the body's first line. */
function serverMessage(body: unknown): string {
  if (body === undefined || body === null) return '';
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
      return oneLine(parsed.message);
    }
  } catch {
    // not JSON: a proxied pod or a load balancer answered
  }
  return oneLine(text).slice(0, 200);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if ('cause' in error) return errorCode(error.cause);
  return undefined;
}
