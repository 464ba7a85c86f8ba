import type { KafkaConnection } from './types.js';

/** Node's codes for a server certificate no trusted CA signed. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Every error in a client's chain: causes, AggregateError members and kafkajs's originalError. */
function chain(error: unknown): { code: string; name: string; message: string }[] {
  const found: { code: string; name: string; message: string }[] = [];
  const queue: unknown[] = [error];
  for (let seen = 0; queue.length > 0 && seen < 32; seen++) {
    const current = queue.shift();
    if (!(current instanceof Error)) continue;
    const fields = current as Error & { code?: unknown; originalError?: unknown };
    found.push({
      code: typeof fields.code === 'string' ? fields.code : '',
      name: current.name,
      message: current.message,
    });
    if (current instanceof AggregateError) queue.push(...(current.errors as unknown[]));
    queue.push(current.cause, fields.originalError);
  }
  return found;
}

/**
 * What a failed connection means in terms of the settings that can fix it, or undefined for a
 * failure no TLS/SASL setting explains (a broker down, a wrong address). The same wording for
 * both client libraries, so a log search finds either.
 */
export function explainConnectError(error: unknown, connection: KafkaConnection): string | undefined {
  const errors = chain(error);
  const codes = new Set(errors.map((e) => e.code));
  const text = errors.map((e) => `${e.name} ${e.message}`).join('\n');
  const tls = connection.security?.tls;
  const sasl = connection.security?.sasl;

  if ([...codes].some((c) => UNTRUSTED.has(c)) || /self[- ]signed certificate|unable to verify/i.test(text)) {
    return tls?.caFile !== undefined
      ? `the broker's TLS certificate is not signed by the CA in KAFKA_SSL_CA (${tls.caFile}): set KAFKA_SSL_CA to the CA that signed the brokers' certificates`
      : "the broker's TLS certificate is not signed by a CA this system trusts: set KAFKA_SSL_CA to the PEM file of the CA that signed it";
  }
  if (codes.has('CERT_HAS_EXPIRED')) return "the broker's TLS certificate has expired: renew the brokers' certificates";
  if (codes.has('ERR_TLS_CERT_ALTNAME_INVALID')) {
    return "the broker's TLS certificate does not name the host it was reached at: list the brokers in KAFKA_BROKERS by a name their certificates hold";
  }
  if (/certificate required|alert bad certificate|ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE/i.test(text)) {
    return tls?.cert !== undefined
      ? 'the broker refused the client certificate in KAFKA_SSL_CERT: use one signed by a CA the brokers trust'
      : 'the broker requires a client certificate (mutual TLS): set KAFKA_SSL_CERT and KAFKA_SSL_KEY';
  }
  if (/wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(text)) {
    return 'KAFKA_SSL=true but the broker answers without TLS: use its SSL or SASL_SSL listener, or set KAFKA_SSL=false';
  }
  if (/SASL|authenticat/i.test(text)) {
    if (sasl === undefined) {
      return 'the broker asks for a SASL login: set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD';
    }
    if (/mechanism|UNSUPPORTED_SASL/i.test(text) && !/failed|invalid/i.test(text)) {
      return `the broker does not offer KAFKA_SASL_MECHANISM=${sasl.mechanism}: use one its listener enables`;
    }
    return `Kafka refused the SASL login of KAFKA_SASL_USERNAME=${sasl.username} (KAFKA_SASL_MECHANISM=${sasl.mechanism}): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`;
  }
  if (tls !== undefined && tls.cert === undefined && /Connection closed/i.test(text)) {
    // Over TLS 1.3 a broker refuses a missing client certificate after the handshake: the
    // client only sees the connection closed.
    return 'the broker closed the TLS connection at once: if it requires a client certificate (mutual TLS), set KAFKA_SSL_CERT and KAFKA_SSL_KEY';
  }
  return undefined;
}

/** `message` prefixed with the explanation, when there is one. */
export function withConnectHint(message: string, error: unknown, connection: KafkaConnection): string {
  const hint = explainConnectError(error, connection);
  return hint === undefined ? message : `${hint} (${message.trim()})`;
}
