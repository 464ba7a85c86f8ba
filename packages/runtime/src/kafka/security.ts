import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@platformatic/kafka';
import { ConfigError } from '../config.js';
import { describeError } from '../errors.js';
import type { KafkaConnection, KafkaSaslMechanism, KafkaSecurity } from './types.js';

/** The parsed TLS and SASL settings (kafkaSecuritySettings in settings.ts). */
export interface KafkaSecurityConfig {
  readonly KAFKA_SSL: boolean;
  readonly KAFKA_SSL_CA: string;
  readonly KAFKA_SSL_CERT: string;
  readonly KAFKA_SSL_KEY: string;
  readonly KAFKA_SASL_MECHANISM: 'none' | KafkaSaslMechanism;
  readonly KAFKA_SASL_USERNAME: string;
  readonly KAFKA_SASL_PASSWORD: string;
}

type PemSetting = 'KAFKA_SSL_CA' | 'KAFKA_SSL_CERT' | 'KAFKA_SSL_KEY';

/** The file's PEM, checked to be what the setting promises, or the problem naming the setting. */
function readPem(setting: PemSetting, file: string): { pem: string } | { problem: string } {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    return { problem: `${setting}=${JSON.stringify(file)}: cannot read the file (${describeError(error)})` };
  }
  try {
    if (setting === 'KAFKA_SSL_KEY') createPrivateKey(pem);
    else new X509Certificate(pem);
  } catch (error: unknown) {
    const what = setting === 'KAFKA_SSL_KEY' ? 'an unencrypted PEM private key' : 'a PEM certificate';
    // Never the content: it may be a key.
    return { problem: `${setting}=${JSON.stringify(file)}: expected ${what} (${describeError(error)})` };
  }
  return { pem };
}

/**
 * The connection's TLS and SASL from the settings, files read now; undefined when neither is
 * on. Every problem (a file missing or not PEM, settings that do not go together) is reported
 * at once in one ConfigError, each naming its setting; a password is never shown.
 */
export function kafkaSecurityFrom(config: Partial<KafkaSecurityConfig>, service: string): KafkaSecurity | undefined {
  const problems: string[] = [];
  const files: Partial<Record<PemSetting, string>> = {};
  for (const setting of ['KAFKA_SSL_CA', 'KAFKA_SSL_CERT', 'KAFKA_SSL_KEY'] as const) {
    const file = config[setting] ?? '';
    if (file === '') continue;
    if (config.KAFKA_SSL !== true) {
      problems.push(`${setting}=${JSON.stringify(file)}: only used over TLS; set KAFKA_SSL=true as well`);
      continue;
    }
    const read = readPem(setting, file);
    if ('problem' in read) problems.push(read.problem);
    else files[setting] = read.pem;
  }
  if ((config.KAFKA_SSL_CERT ?? '') !== '' && (config.KAFKA_SSL_KEY ?? '') === '')
    problems.push('KAFKA_SSL_KEY=(unset): required with KAFKA_SSL_CERT (the client certificate needs its key)');
  if ((config.KAFKA_SSL_KEY ?? '') !== '' && (config.KAFKA_SSL_CERT ?? '') === '')
    problems.push('KAFKA_SSL_CERT=(unset): required with KAFKA_SSL_KEY (the key needs its certificate)');

  const mechanism = config.KAFKA_SASL_MECHANISM ?? 'none';
  const username = config.KAFKA_SASL_USERNAME ?? '';
  const password = config.KAFKA_SASL_PASSWORD ?? '';
  if (mechanism !== 'none') {
    if (username === '') problems.push(`KAFKA_SASL_USERNAME=(unset): required with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (password === '') problems.push(`KAFKA_SASL_PASSWORD=(unset): required with KAFKA_SASL_MECHANISM=${mechanism}`);
  } else if (username !== '' || password !== '') {
    const which = username !== '' ? 'KAFKA_SASL_USERNAME' : 'KAFKA_SASL_PASSWORD';
    problems.push(`${which} is set but KAFKA_SASL_MECHANISM=none: choose plain, scram-sha-256 or scram-sha-512`);
  }
  if (problems.length > 0) throw new ConfigError(service, problems);

  const tls: NonNullable<KafkaSecurity['tls']> | undefined =
    config.KAFKA_SSL === true
      ? {
          ...(files.KAFKA_SSL_CA !== undefined ? { ca: files.KAFKA_SSL_CA, caFile: config.KAFKA_SSL_CA } : {}),
          ...(files.KAFKA_SSL_CERT !== undefined ? { cert: files.KAFKA_SSL_CERT } : {}),
          ...(files.KAFKA_SSL_KEY !== undefined ? { key: files.KAFKA_SSL_KEY } : {}),
        }
      : undefined;
  const sasl: KafkaSecurity['sasl'] =
    mechanism !== 'none'
      ? Object.defineProperty(
          { mechanism, username } as { mechanism: KafkaSaslMechanism; username: string; password: string },
          'password',
          {
            value: password,
            enumerable: false,
          },
        )
      : undefined;
  if (tls === undefined && sasl === undefined) return undefined;
  return { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** KAFKA_SSL* and KAFKA_SASL_* as @platformatic/kafka takes them (upper-case mechanism names). */
export function platformaticSecurity(connection: KafkaConnection): Pick<ConnectionOptions, 'tls' | 'sasl'> {
  const { tls, sasl } = connection.security ?? {};
  return {
    ...(tls
      ? { tls: { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) } }
      : {}),
    ...(sasl
      ? { sasl: { mechanism: saslMechanisms[sasl.mechanism], username: sasl.username, password: sasl.password } }
      : {}),
  };
}

const saslMechanisms = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;
