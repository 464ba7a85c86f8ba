import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findDotEnv, loadEnv, parseDotEnv } from '../src/dotenv.js';

describe('parseDotEnv', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['plain pairs', 'A=1\nB=two', { A: '1', B: 'two' }],
    ['comments and blank lines', '# c\n\nA=1\n  # indented comment', { A: '1' }],
    ['export prefix', 'export A=1', { A: '1' }],
    ['spaces around =', 'A = 1', { A: '1' }],
    ['inline comment after unquoted value', 'A=1 # the port', { A: '1' }],
    ['hash inside a value is kept', 'A=a#b', { A: 'a#b' }],
    ['double quotes with escapes', 'A="x\\ny \\"q\\""', { A: 'x\ny "q"' }],
    ['single quotes are literal', "A='x\\ny # z'", { A: 'x\\ny # z' }],
    ['empty value', 'A=', { A: '' }],
    ['CRLF line endings', 'A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['later line wins', 'A=1\nA=2', { A: '2' }],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(parseDotEnv(text), expected));
  }

  it('names the file and line of a malformed line', () => {
    assert.throws(() => parseDotEnv('A=1\nnot a pair', 'x/.env'), /x\/\.env:2: expected KEY=value/);
  });

  it('does not quote a malformed line, which may hold a secret', () => {
    assert.throws(
      () => parseDotEnv('A=1\nKAFIDX_TOKEN my secret token!', 'x/.env'),
      (error: unknown) =>
        error instanceof SyntaxError &&
        /^x\/\.env:2: expected KEY=value/.test(error.message) &&
        !error.message.includes('secret'),
    );
  });

  it('rejects an unterminated quote', () => {
    assert.throws(() => parseDotEnv('A="open'), /unterminated double quote/);
  });
});

describe('loadEnv', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'services', 'x'), { recursive: true });
  writeFileSync(path.join(dir, '.env'), 'PORT=1\nHOST=local\n');

  it('finds the nearest .env upwards from a service folder', () => {
    assert.equal(findDotEnv(path.join(dir, 'services', 'x')), path.join(dir, '.env'));
  });

  it('lets the process environment win over .env and keeps other defaults', () => {
    const env = loadEnv({ processEnv: { PORT: '2', OTHER: 'o' }, cwd: path.join(dir, 'services', 'x') });
    assert.equal(env['PORT'], '2');
    assert.equal(env['HOST'], 'local');
    assert.equal(env['OTHER'], 'o');
    assert.ok(Object.isFrozen(env));
  });

  it('works without any .env (containers)', () => {
    const env = loadEnv({ processEnv: { A: '1' }, cwd: '/', file: undefined });
    assert.equal(env['A'], '1');
  });
});
