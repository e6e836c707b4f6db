import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Stops a helper server: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

/** Resolves when the child has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => child.once('exit', () => resolvePromise()));
}

/**
 * Preloaded (`node --import`) into Node helper servers: they end with the process that started them,
 * however it ends. A SIGKILL runs no exit handler in the parent, but it closes the child's stdin pipe,
 * and re-parents the child; either ends it.
 */
export const EXIT_WITH_PARENT_IMPORT = `data:text/javascript,${encodeURIComponent(
  [
    'const parent = process.ppid;',
    'const bye = () => process.exit(0);',
    "process.stdin.on('end', bye); process.stdin.on('close', bye); process.stdin.on('error', bye);",
    // Unref'd: the watch must not keep a helper alive that has closed its server (Azurite on SIGTERM).
    'process.stdin.resume(); process.stdin.unref?.();',
    'setInterval(() => { if (process.ppid !== parent) bye(); }, 500).unref();',
  ].join('\n'),
)}`;

/** A helper server started by the local runtime, recorded in its data directory (pids/<name>.json). */
export interface PidRecord {
  name: string;
  pid: number;
  /** A string its command line contains, so a reused pid of another program is never ended. */
  marker: string;
  startedAt: string;
}

const pidDir = (dataDir: string) => join(dataDir, 'pids');

export function recordChild(dataDir: string, record: Omit<PidRecord, 'startedAt'>): void {
  mkdirSync(pidDir(dataDir), { recursive: true });
  const full: PidRecord = { ...record, startedAt: new Date().toISOString() };
  writeFileSync(join(pidDir(dataDir), `${record.name}.json`), `${JSON.stringify(full)}\n`);
}

export function forgetChild(dataDir: string, name: string): void {
  rmSync(join(pidDir(dataDir), `${name}.json`), { force: true });
}

export function readPidRecords(dataDir: string): PidRecord[] {
  if (!existsSync(pidDir(dataDir))) return [];
  return readdirSync(pidDir(dataDir))
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        const r = JSON.parse(readFileSync(join(pidDir(dataDir), f), 'utf8')) as Partial<PidRecord>;
        return typeof r.pid === 'number' && typeof r.marker === 'string' && typeof r.name === 'string'
          ? [r as PidRecord]
          : [];
      } catch {
        return [];
      }
    });
}

/** Whether `pid` is alive and (where the system tells) still the program the record names. */
export function isRecordedProcess(r: PidRecord): boolean {
  try {
    process.kill(r.pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${r.pid}/cmdline`;
  // Linux tells what the pid runs now; elsewhere a live pid from our record is taken as ours.
  if (!existsSync('/proc')) return true;
  try {
    return readFileSync(cmdline, 'utf8').includes(r.marker);
  } catch {
    return false;
  }
}

/**
 * Ends the helper servers a previous run left behind (its process was killed before it could stop
 * them, e.g. a helper of an older version without the exit-with-parent watch): SIGTERM, then SIGKILL.
 * Returns the names of those ended.
 */
export async function endStaleChildren(dataDir: string, graceMs = 5_000): Promise<string[]> {
  const ended: string[] = [];
  for (const r of readPidRecords(dataDir)) {
    if (r.pid === process.pid || !isRecordedProcess(r)) {
      forgetChild(dataDir, r.name);
      continue;
    }
    try {
      process.kill(r.pid, 'SIGTERM');
    } catch {
      // Gone meanwhile.
    }
    const until = Date.now() + graceMs;
    while (isRecordedProcess(r) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    if (isRecordedProcess(r)) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      while (isRecordedProcess(r)) await new Promise((res) => setTimeout(res, 50));
    }
    forgetChild(dataDir, r.name);
    ended.push(r.name);
  }
  return ended;
}
