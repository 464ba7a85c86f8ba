import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { request, startTestTracker } from './helpers.js';

describe('TLS', () => {
  it('serves pixels over HTTPS with the configured certificate', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tracker-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      {
        stdio: 'ignore',
      },
    );
    const tt = await startTestTracker(t, { TRACKER_TLS_CERT: cert, TRACKER_TLS_KEY: key });
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: tt.port,
            path: '/t/secure?x=1',
            ca: readFileSync(cert),
            checkServerIdentity: () => undefined,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    await assert.rejects(request(tt.port, 'GET', '/t/plain'), 'plain HTTP is not spoken on the TLS port');
    assert.equal(status, 204);
    assert.deepEqual(
      (await tt.stored()).map((h) => h.type),
      ['secure'],
    );
  });

  it('refuses to start with only one of certificate and key', async (t) => {
    await assert.rejects(
      startTestTracker(t, { TRACKER_TLS_CERT: '/x.pem' }),
      /TRACKER_TLS_CERT and TRACKER_TLS_KEY must be set together/,
    );
  });
});
