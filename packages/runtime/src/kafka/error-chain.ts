/** An error as the Kafka clients shape theirs: any of these fields may be there. */
export interface KafkaErrorLink {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/**
 * The error and the ones it wraps, outermost first (kafkajs's retriers keep the error they gave
 * up on as `cause`: KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded).
 */
export function causeChain(error: unknown, most = 5): KafkaErrorLink[] {
  const chain: KafkaErrorLink[] = [];
  for (let e: unknown = error; typeof e === 'object' && e !== null && chain.length < most;) {
    const link: KafkaErrorLink = e;
    chain.push(link);
    e = link.cause;
  }
  return chain;
}
