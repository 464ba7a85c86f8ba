/**
 * Test certificates made with openssl: the CA the broker and the clients trust, the broker's
 * certificate (for 127.0.0.1 and localhost), a client certificate for mutual TLS, and a second,
 * unrelated CA that signed none of them (what a client with the wrong KAFKA_SSL_CA trusts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Certificates {
  /** PEM of the CA that signed the broker's and the client's certificates. */
  readonly ca: string;
  /** PEM of a CA that signed nothing here. */
  readonly otherCa: string;
  /** The broker's private key followed by its certificate (Kafka's PEM keystore). */
  readonly brokerKeystore: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

function signed(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: string,
): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions}\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

export function makeCertificates(dir: string): Certificates {
  const ca = makeCa(dir, 'test-ca');
  const otherCa = makeCa(dir, 'other-ca');
  const broker = signed(dir, 'broker', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  const client = signed(dir, 'client', ca, 'extendedKeyUsage=clientAuth');
  const brokerKeystore = path.join(dir, 'broker-keystore.pem');
  writeFileSync(brokerKeystore, readFileSync(broker.key, 'utf8') + readFileSync(broker.cert, 'utf8'));
  return { ca: ca.cert, otherCa: otherCa.cert, brokerKeystore, clientCert: client.cert, clientKey: client.key };
}
