// An exclusive lock on a results file, so two runs never write one output: `OUT.lock` beside it,
// created atomically (hard link of a complete temp file: also safe on NFS) and holding who owns
// it. A second run fails fast (UsageError, exit 2) naming the holder.
//
// A lock left by a process that died without cleaning up (SIGKILL, OOM, power loss) is stale:
//   - same host (and same boot): stale when the holder's pid is gone, or is now another process
//     (its start time in /proc differs — pid reuse, a new container);
//   - another host, or this host rebooted: the holder cannot be asked, so a live holder refreshes
//     the lock's mtime every HEARTBEAT_MS, and the lock is stale once it has not been refreshed
//     for STALE_AFTER_MS.
// A stale lock is taken over with a notice. The lock is removed on every way out of the run:
// normal end, errors (finally), process exit, and signals (see installSignalRelease).
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, utimes, writeFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UsageError } from '../config.js';
import type { SignalProcess } from './signals.js';
import { STOP_SIGNALS, dieBySignal } from './signals.js';

/** How often a running holder refreshes the lock's mtime. */
export const HEARTBEAT_MS = 15_000;
/** A lock from another host not refreshed for this long is stale. */
export const STALE_AFTER_MS = 120_000;

export interface LockInfo {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id (Linux), or null: tells a reboot (or another machine of the same name). */
  boot_id: string | null;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22), or null. */
  pid_start: string | null;
  /** When the holder took the lock (ISO 8601). */
  started: string;
  command: string;
}

export interface LockOptions {
  /** Notices (a stale lock taken over). */
  notice: (line: string) => void;
  /** Command line shown to a run that finds the lock held. */
  command?: string;
  now?: () => number;
  /** Liveness probe for a pid on this host (tests). */
  isAlive?: (pid: number, pidStart: string | null) => boolean;
  heartbeatMs?: number;
}

export function lockPathFor(out: string): string {
  return `${out}.lock`;
}

export class OutputLock {
  private released = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = (): void => this.releaseSync();
  private disposeSignals: () => void = () => {};

  private constructor(
    readonly path: string,
    private readonly content: string,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => {
      const t = new Date();
      utimes(this.path, t, t).catch(() => undefined);
    }, heartbeatMs);
    this.timer.unref();
    process.on('exit', this.onExit);
  }

  /** Takes the lock on `out` (a regular file's path, symlinks already resolved), or throws UsageError naming the holder. */
  static async acquire(out: string, opts: LockOptions): Promise<OutputLock> {
    const lockPath = lockPathFor(out);
    const me = currentLockInfo(opts.command ?? process.argv.slice(1).join(' '), opts.now);
    const content = JSON.stringify(me) + '\n';
    const tmp = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, content, { flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(tmp, lockPath);
          return new OutputLock(lockPath, content, opts.heartbeatMs ?? HEARTBEAT_MS);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
            throw new UsageError(`cannot lock output ${out}: ${(err as Error).message}`);
          }
        }
        const held = await readHolder(lockPath);
        if (held === null) continue; // released meanwhile: try again
        const verdict = judge(held, me, opts);
        if (verdict.live) {
          throw new UsageError(
            `output ${out} is in use by another run (${describeHolder(held)}; lock ${lockPath}). ` +
              `Wait for it, or use another --out.${verdict.why ? ` ${verdict.why}` : ''}`,
          );
        }
        // Stale: move it aside atomically, and only delete it if it is still the lock we judged
        // (a racing run may have replaced it with its own live lock in between).
        const aside = `${lockPath}.stale-${process.pid}`;
        try {
          await rename(lockPath, aside);
        } catch {
          continue;
        }
        const moved = await readFile(aside, 'utf8').catch(() => '');
        if (moved !== held.raw) {
          await link(aside, lockPath).catch(() => undefined); // put the live one back
          await unlink(aside).catch(() => undefined);
          continue;
        }
        await unlink(aside).catch(() => undefined);
        opts.notice(`yolo-serve: taking over a stale lock on ${out} (${describeHolder(held)}: ${verdict.why})`);
      }
      throw new UsageError(`cannot lock output ${out}: ${lockPath} keeps changing (another run is starting?)`);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Until disposed, a SIGINT/SIGTERM that nothing else handles removes the lock and ends the
   * process by that signal (the default action would leave the lock behind). When a RunGuard is
   * listening too, it owns the signal: it calls releaseSync before it kills the process.
   */
  installSignalRelease(proc: SignalProcess): void {
    const listeners = STOP_SIGNALS.map((signal) => {
      const listener = (): void => {
        if ((proc.listenerCount?.(signal) ?? 1) > 1) return;
        this.releaseSync();
        dispose();
        dieBySignal(proc, signal);
      };
      proc.on(signal, listener);
      return { signal, listener };
    });
    const dispose = (): void => {
      for (const { signal, listener } of listeners) proc.off(signal, listener);
    };
    this.disposeSignals = dispose;
  }

  /** Removes the lock if it is still ours. Idempotent; safe in 'exit' handlers. */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    this.disposeSignals();
    try {
      if (readFileSync(this.path, 'utf8') === this.content) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  async release(): Promise<void> {
    this.releaseSync();
  }
}

interface Holder extends Partial<LockInfo> {
  raw: string;
  mtimeMs: number;
}

async function readHolder(lockPath: string): Promise<Holder | null> {
  try {
    const [raw, st] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    let info: Partial<LockInfo> = {};
    try {
      info = JSON.parse(raw) as Partial<LockInfo>;
    } catch {
      // not ours to read: judged by its age alone
    }
    return { ...info, raw, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read lock ${lockPath}: ${(err as Error).message}`);
  }
}

function judge(held: Holder, me: LockInfo, opts: LockOptions): { live: boolean; why: string } {
  const now = (opts.now ?? Date.now)();
  const sameMachine = held.host === me.host && (held.boot_id ?? null) === me.boot_id;
  if (sameMachine && typeof held.pid === 'number') {
    const alive = (opts.isAlive ?? isAlive)(held.pid, held.pid_start ?? null);
    return alive ? { live: true, why: '' } : { live: false, why: `process ${held.pid} is no longer running` };
  }
  const idle = now - held.mtimeMs;
  if (idle > STALE_AFTER_MS) return { live: false, why: `not refreshed for ${Math.round(idle / 1000)}s` };
  const where = held.host === undefined ? 'an unreadable lock' : held.host === me.host ? 'this host before a reboot' : `host ${held.host}`;
  return {
    live: true,
    why: `It belongs to ${where}, where it cannot be checked; it counts as abandoned once not refreshed for ${STALE_AFTER_MS / 1000}s (last refreshed ${Math.max(0, Math.round(idle / 1000))}s ago).`,
  };
}

function describeHolder(h: Holder): string {
  if (h.pid === undefined) return 'holder unknown';
  return `pid ${h.pid} on ${h.host ?? '?'}, started ${h.started ?? '?'}`;
}

function currentLockInfo(command: string, now?: () => number): LockInfo {
  return {
    pid: process.pid,
    host: hostname(),
    boot_id: readText('/proc/sys/kernel/random/boot_id'),
    pid_start: procStart(process.pid),
    started: new Date((now ?? Date.now)()).toISOString(),
    command,
  };
}

/** Whether `pid` runs here and is the same process (same start time) as when it took the lock. */
function isAlive(pid: number, pidStart: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (pidStart === null) return true;
  const now = procStart(pid);
  return now === null || now === pidStart;
}

function procStart(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null; // field 22 overall
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
