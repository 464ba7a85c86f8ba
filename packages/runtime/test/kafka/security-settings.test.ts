/**
 * KAFKA_SSL* and KAFKA_SASL_*: parsed once, files read at start, every misconfiguration a
 * ConfigError naming its setting, the password never printed. The connections themselves are
 * proven against a real SASL_SSL broker in packages/e2e/test/kafka-security.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config.js';
import { kafkaConnectionFrom, kafkaSettings } from '../../src/kafka/settings.js';
import { kafkajsSecurity } from '../../src/kafka/client.js';
import { platformaticSecurity } from '../../src/kafka/security.js';

const base = { KAFKA_BROKERS: 'k:9093', KAFKA_TOPIC: 'events' };
const PASSWORD = 'pw-Xq81-never-printed';
let dir = '';
let cert = '';
let key = '';
let notPem = '';

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kafka-security-settings-'));
  cert = path.join(dir, 'client.pem');
  key = path.join(dir, 'client.key');
  notPem = path.join(dir, 'not.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=client',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(notPem, 'hello\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function connection(env: Record<string, string>) {
  return kafkaConnectionFrom(parseConfig('svc', kafkaSettings, { ...base, ...env }), 'store');
}

/** The ConfigError's problems, or a failed assertion when none was thrown. */
function problems(env: Record<string, string>): readonly string[] {
  try {
    connection(env);
  } catch (error: unknown) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.ok(!error.message.includes(PASSWORD), 'the password is printed');
    return error.problems;
  }
  assert.fail('no ConfigError');
}

describe('Kafka TLS and SASL settings', () => {
  it('by default: plaintext, no login, and no security in the connection', () => {
    assert.equal(connection({}).security, undefined);
    assert.deepEqual(kafkajsSecurity(connection({})), {});
    assert.deepEqual(platformaticSecurity(connection({})), {});
  });

  it('KAFKA_SSL=true alone: TLS trusting the system CAs', () => {
    const c = connection({ KAFKA_SSL: 'true' });
    assert.deepEqual(c.security, { tls: {} });
    assert.deepEqual(kafkajsSecurity(c), { ssl: {} });
    assert.deepEqual(platformaticSecurity(c), { tls: {} });
  });

  it('reads the CA, the client certificate and its key at start and hands them to both clients', () => {
    const c = connection({ KAFKA_SSL: 'true', KAFKA_SSL_CA: cert, KAFKA_SSL_CERT: cert, KAFKA_SSL_KEY: key });
    const tls = c.security?.tls;
    assert.ok(tls !== undefined && tls.ca?.includes('BEGIN CERTIFICATE') === true);
    assert.equal(tls.caFile, cert);
    assert.ok(tls.key?.includes('PRIVATE KEY'));
    assert.deepEqual(kafkajsSecurity(c).ssl, { ca: tls.ca, cert: tls.cert, key: tls.key });
    assert.deepEqual(platformaticSecurity(c).tls, { ca: tls.ca, cert: tls.cert, key: tls.key });
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`KAFKA_SASL_MECHANISM=${mechanism} reaches both clients, the password never printed`, () => {
      const c = connection({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: PASSWORD,
      });
      assert.deepEqual(kafkajsSecurity(c).sasl, { mechanism, username: 'alice', password: PASSWORD });
      assert.deepEqual(platformaticSecurity(c).sasl, {
        mechanism: mechanism.toUpperCase(),
        username: 'alice',
        password: PASSWORD,
      });
      assert.ok(!JSON.stringify(c).includes(PASSWORD), 'JSON of the connection shows the password');
      assert.ok(!inspect(c, { depth: 10 }).includes(PASSWORD), 'inspecting the connection shows the password');
    });
  }

  const refusals: [string, Record<string, string>, RegExp][] = [
    [
      'a missing CA file',
      { KAFKA_SSL: 'true', KAFKA_SSL_CA: '/nonexistent/ca.pem' },
      /^KAFKA_SSL_CA="\/nonexistent\/ca\.pem": cannot read the file \(ENOENT/,
    ],
    [
      'a CA file that is no certificate',
      { KAFKA_SSL: 'true', KAFKA_SSL_CA: '<notPem>' },
      /^KAFKA_SSL_CA=".*not\.pem": expected a PEM certificate/,
    ],
    [
      'a key file that is no key',
      { KAFKA_SSL: 'true', KAFKA_SSL_CERT: '<cert>', KAFKA_SSL_KEY: '<notPem>' },
      /^KAFKA_SSL_KEY=".*not\.pem": expected an unencrypted PEM private key/,
    ],
    [
      'a certificate without its key',
      { KAFKA_SSL: 'true', KAFKA_SSL_CERT: '<cert>' },
      /^KAFKA_SSL_KEY=\(unset\): required with KAFKA_SSL_CERT/,
    ],
    [
      'a key without its certificate',
      { KAFKA_SSL: 'true', KAFKA_SSL_KEY: '<key>' },
      /^KAFKA_SSL_CERT=\(unset\): required with KAFKA_SSL_KEY/,
    ],
    [
      'a CA without KAFKA_SSL',
      { KAFKA_SSL_CA: '<cert>' },
      /^KAFKA_SSL_CA=".*": only used over TLS; set KAFKA_SSL=true/,
    ],
    [
      'a mechanism without a user',
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: PASSWORD },
      /^KAFKA_SASL_USERNAME=\(unset\): required with KAFKA_SASL_MECHANISM=plain$/,
    ],
    [
      'a mechanism without a password',
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'a' },
      /^KAFKA_SASL_PASSWORD=\(unset\): required with KAFKA_SASL_MECHANISM=scram-sha-512$/,
    ],
    [
      'a password without a mechanism',
      { KAFKA_SASL_PASSWORD: PASSWORD },
      /^KAFKA_SASL_PASSWORD is set but KAFKA_SASL_MECHANISM=none/,
    ],
  ];
  for (const [what, env, expected] of refusals) {
    it(`refuses ${what}, naming the setting`, () => {
      const files: Record<string, string> = { '<notPem>': notPem, '<cert>': cert, '<key>': key };
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, files[v] ?? v]));
      const found = problems(resolved);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0] ?? '', expected);
    });
  }

  it('refuses an unknown mechanism when the config is parsed, naming the accepted ones', () => {
    assert.throws(
      () => parseConfig('svc', kafkaSettings, { ...base, KAFKA_SASL_MECHANISM: 'gssapi' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^KAFKA_SASL_MECHANISM="gssapi": expected one of none, plain, scram-sha-256, scram-sha-512$/.test(
          error.problems[0] ?? '',
        ),
    );
  });

  it('never shows KAFKA_SASL_PASSWORD in a config error', () => {
    assert.throws(
      () =>
        parseConfig('svc', kafkaSettings, { ...base, KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_PASSWORD: PASSWORD }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(PASSWORD),
    );
  });
});
