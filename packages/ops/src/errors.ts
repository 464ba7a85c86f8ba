/**
 * Why a command stopped. `usage` is a mistake on the command line (exit 2); `refused` is a
 * safety check that said no; `api` is the Kubernetes API (or the way to it) failing; `kubeconfig`
 * is a kubeconfig that cannot be used; `timeout` is a pod that did not go away in time.
 */
export const opsErrorKinds = ['usage', 'refused', 'api', 'kubeconfig', 'timeout', 'interrupted'] as const;

export type OpsErrorKind = (typeof opsErrorKinds)[number];

/** An error whose message is one line an operator can act on; the CLI prints it and nothing else. */
export class OpsError extends Error {
  readonly kind: OpsErrorKind;

  constructor(kind: OpsErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsError';
    this.kind = kind;
  }

  get exitCode(): number {
    if (this.kind === 'usage') return 2;
    if (this.kind === 'interrupted') return 130;
    return 1;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
