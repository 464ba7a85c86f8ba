/**
 * CPU time of other processes, read from /proc as `top` would: utime + stime of a process and,
 * for a process tree (a service's supervisor and its workers, npm and what it started), of every
 * live member plus what its reaped children used (cutime + cstime). Linux only.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK); Node cannot ask sysconf

export interface ProcessStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, seconds. */
  readonly ownSeconds: number;
  /** cutime + cstime (children it waited for), seconds. */
  readonly reapedChildrenSeconds: number;
  /** Of ownSeconds + reapedChildrenSeconds, those in the kernel (stime + cstime), seconds. */
  readonly systemSeconds: number;
}

/**
 * One line of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat: comm, and a reader of the numbered
 * fields of proc(5) (1-based, as the manual counts them; 0 for a field that is not there).
 */
interface StatLine {
  readonly comm: string;
  readonly field: (n: number) => number;
}

function parseStatLine(text: string): StatLine {
  // comm is in parentheses and may itself hold spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // fields[0] is field 3 (state).
  const fields = text.slice(close + 2).split(' ');
  return { comm, field: (n) => Number(fields[n - 3] ?? 0) || 0 };
}

function readStat(path: string): StatLine | undefined {
  try {
    return parseStatLine(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14 and 15), seconds. */
const ownSeconds = (field: (n: number) => number): number => (field(14) + field(15)) / TICKS_PER_SECOND;

/** undefined when the process is gone. */
export function processStat(pid: number): ProcessStat | undefined {
  const stat = readStat(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const { comm, field } = stat;
  return {
    pid,
    ppid: field(4),
    comm,
    ownSeconds: ownSeconds(field),
    reapedChildrenSeconds: (field(16) + field(17)) / TICKS_PER_SECOND,
    systemSeconds: (field(15) + field(17)) / TICKS_PER_SECOND,
  };
}

/** Every live process, by pid. */
export function allProcesses(): Map<number, ProcessStat> {
  const found = new Map<number, ProcessStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = processStat(Number(name));
    if (stat) found.set(stat.pid, stat);
  }
  return found;
}

/** The pid and all its live descendants. */
export function processTree(root: number, processes = allProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of processes.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const tree: number[] = [];
  const visit = (pid: number): void => {
    if (!processes.has(pid)) return;
    tree.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return tree;
}

/** `seconds` of each live member of a process tree, summed. */
function treeSum(root: number, processes: Map<number, ProcessStat>, seconds: (p: ProcessStat) => number): number {
  return processTree(root, processes).reduce((sum, pid) => {
    const p = processes.get(pid);
    return sum + (p ? seconds(p) : 0);
  }, 0);
}

/** CPU seconds used so far by a process tree, children included. */
export function treeCpuSeconds(root: number, processes = allProcesses()): number {
  return treeSum(root, processes, (p) => p.ownSeconds + p.reapedChildrenSeconds);
}

/**
 * Of treeCpuSeconds, those spent in the kernel on the tree's behalf (system calls, and what they
 * do in its time: a loopback send delivers the segment to the receiver, an fsync writes the disk).
 */
export function treeSystemSeconds(root: number, processes = allProcesses()): number {
  return treeSum(root, processes, (p) => p.systemSeconds);
}

/**
 * CPU seconds used so far by those live threads of a process whose name (`comm`, at most 15
 * characters) starts with one of `prefixes`, e.g. a JVM's JIT compilers ('C1 CompilerThre',
 * 'C2 CompilerThre'). A thread that has ended no longer counts. 0 when the process is gone.
 */
export function threadCpuSeconds(pid: number, prefixes: readonly string[]): number {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let seconds = 0;
  for (const tid of names) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (stat && prefixes.some((prefix) => stat.comm.startsWith(prefix))) seconds += ownSeconds(stat.field);
  }
  return seconds;
}

/** A process's working directory, or undefined when it is gone (or not ours to read). */
export function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** The command line, arguments joined by spaces ('' when the process is gone). */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** CPU seconds of the whole machine so far (all cores), busy and in total, from /proc/stat. */
export function machineTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}
