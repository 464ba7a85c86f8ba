import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { processStat, processTree, threadCpuSeconds, treeCpuSeconds, treeSystemSeconds } from '../src/process-cpu.js';

describe('process CPU from /proc', () => {
  it('reads a process whose name holds a space and a parenthesis', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'process-cpu-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const odd = path.join(dir, 'a) b');
    copyFileSync('/bin/sleep', odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore' });
    t.after(() => child.kill('SIGKILL'));
    await new Promise((resolve) => child.once('spawn', resolve));
    const stat = processStat(child.pid ?? 0);
    assert.ok(stat, 'the child is readable');
    assert.equal(stat.comm, 'a) b');
    assert.equal(stat.ppid, process.pid);
    assert.ok(stat.ownSeconds >= 0 && stat.reapedChildrenSeconds >= 0);
    assert.ok(processTree(process.pid).includes(child.pid ?? 0), 'the child is in this process tree');
  });

  it('counts a tree with its children: at least the CPU this process burned', () => {
    const before = treeCpuSeconds(process.pid);
    // Spin until Node itself counts 200 ms of CPU; /proc must then show as much (10 ms ticks).
    const start = process.cpuUsage();
    const burned = (): number => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1e6;
    };
    while (burned() < 0.2);
    assert.ok(treeCpuSeconds(process.pid) - before >= 0.18, 'the CPU this process burned shows in /proc');
    assert.equal(processStat(2 ** 22 + 1), undefined, 'a pid that does not exist');
  });

  it('tells the kernel time apart: system calls count, a spin in JavaScript does not', () => {
    const used = (start: NodeJS.CpuUsage): NodeJS.CpuUsage => process.cpuUsage(start);
    // 200 ms in the kernel: reads of /dev/zero, whose copying is the kernel's work.
    const zero = openSync('/dev/zero', 'r');
    const buffer = Buffer.allocUnsafe(1 << 20);
    const kernelBefore = treeSystemSeconds(process.pid);
    let start = process.cpuUsage();
    while (used(start).system < 200_000) readSync(zero, buffer, 0, buffer.length, null);
    closeSync(zero);
    assert.ok(treeSystemSeconds(process.pid) - kernelBefore >= 0.18, 'the system calls show as kernel time');
    // The control: 300 ms in user space, allocating nothing, adds next to no kernel time.
    const userBefore = treeSystemSeconds(process.pid);
    start = process.cpuUsage();
    let x = 0;
    while (used(start).user < 300_000) for (let i = 0; i < 10_000; i += 1) x = (x + i) % 7919;
    assert.ok(x >= 0);
    assert.ok(treeSystemSeconds(process.pid) - userBefore < 0.1, 'user time is not counted as kernel time');
  });

  it('counts only the threads whose name starts as asked', () => {
    // This main thread's name (the task whose id is the pid), as a JVM's 'C2 CompilerThre' is one.
    const name = readFileSync(`/proc/${process.pid}/task/${process.pid}/comm`, 'utf8').trim();
    const before = threadCpuSeconds(process.pid, [name.slice(0, 3)]);
    const otherBefore = threadCpuSeconds(process.pid, ['no such thread']);
    const start = process.cpuUsage();
    const burned = (): number => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1e6;
    };
    while (burned() < 0.2);
    assert.ok(threadCpuSeconds(process.pid, [name.slice(0, 3)]) - before >= 0.18, 'the main thread counts');
    assert.equal(otherBefore, 0);
    assert.equal(threadCpuSeconds(process.pid, ['no such thread']), 0, 'no thread of that name, nothing counted');
    assert.equal(threadCpuSeconds(2 ** 22 + 1, [name]), 0, 'a pid that does not exist');
  });
});
