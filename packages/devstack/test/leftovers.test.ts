import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAlive, recordProcesses, stopLeftovers, sweepStaleStacks } from '../src/leftovers.js';

describe('stopLeftovers', () => {
  it('stops processes a killed earlier run left behind, and only those', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'leftovers-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // One process of "ours" (its command line names the state dir) and a stranger whose pid
    // was recorded but that does not belong to the dir (a reused pid).
    const ours = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', dir], { stdio: 'ignore' });
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => {
      ours.kill('SIGKILL');
      stranger.kill('SIGKILL');
    });
    const oursPid = ours.pid ?? assert.fail('no pid');
    const strangerPid = stranger.pid ?? assert.fail('no pid');
    recordProcesses(dir, [
      { name: 'redis', pid: oursPid },
      { name: 'kafka', pid: strangerPid },
    ]);
    const lines: string[] = [];
    assert.equal(await stopLeftovers(dir, (l) => lines.push(l)), 1);
    await new Promise<void>((resolve) =>
      ours.exitCode !== null || ours.signalCode !== null ? resolve() : ours.once('exit', () => resolve()),
    );
    assert.equal(isAlive(oursPid), false);
    assert.equal(isAlive(strangerPid), true, 'a process that is not ours is left alone');
    assert.deepEqual(lines, [`stopping redis (pid ${oursPid}) left over from an earlier run`]);
    assert.equal(existsSync(path.join(dir, 'pids.json')), false);
  });

  it('refuses to start while another live devstack owns the same state folder', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'leftovers-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'pids.json'), JSON.stringify({ owner: process.ppid, processes: [] }));
    await assert.rejects(
      stopLeftovers(dir, () => undefined),
      /another devstack \(pid \d+\) is running/,
    );
  });

  it('sweeps throw-away stacks whose owner died, and keeps those of live owners', async (t) => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'sweep-'));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    const stale = path.join(tmp, 'pushtech-test-stale');
    const live = path.join(tmp, 'pushtech-stack-live');
    const unrelated = path.join(tmp, 'something-else');
    for (const dir of [stale, live, unrelated]) mkdirSync(dir);
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', stale], { stdio: 'ignore' });
    t.after(() => orphan.kill('SIGKILL'));
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    // A pid far above any the kernel hands out here stands for the dead owner.
    const deadOwner = 4_194_000;
    writeFileSync(
      path.join(stale, 'pids.json'),
      JSON.stringify({ owner: deadOwner, processes: [{ name: 'kafka', pid: orphan.pid }] }),
    );
    writeFileSync(path.join(live, 'pids.json'), JSON.stringify({ owner: process.pid, processes: [] }));
    writeFileSync(path.join(unrelated, 'pids.json'), JSON.stringify({ owner: deadOwner, processes: [] }));

    assert.equal(await sweepStaleStacks(tmp, () => undefined), 1);
    await exited;
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(live), true);
    assert.equal(existsSync(unrelated), true);
  });
});
