// yolo-serve end to end, as a user runs it: a subprocess writing JSONL. The output file is polled
// to separate start-up (spawn → first result line) from processing (first line → last line),
// and peak RSS comes from /usr/bin/time (exact, from wait4) or, without it, from polling
// /proc/<pid>/status VmHWM (the kernel's own high-water mark).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin', 'yolo-serve');
const TIME = '/usr/bin/time';

/** Counts result lines appended to a file since the last call (not the provenance header line it starts with). */
class LineCounter {
  constructor(file) {
    this.file = file;
    this.offset = 0;
    this.lines = -1;
    this.buf = Buffer.alloc(1 << 20);
  }
  poll() {
    let size;
    try {
      size = statSync(this.file).size;
    } catch {
      return Math.max(0, this.lines);
    }
    if (size <= this.offset) return Math.max(0, this.lines);
    const fd = openSync(this.file, 'r');
    try {
      while (this.offset < size) {
        const n = readSync(fd, this.buf, 0, Math.min(this.buf.length, size - this.offset), this.offset);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) if (this.buf[i] === 10) this.lines++;
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return Math.max(0, this.lines);
  }
}

const TICK_MS = 1000 / 100; // USER_HZ: 100 on every Linux the kernel ABI allows userland to see

/** CPU ms (user + system, all threads) of a live process, from /proc/<pid>/stat. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** The node process: the child itself, or /usr/bin/time's only child. */
function nodePid(child, viaTime) {
  if (!viaTime) return child.pid;
  try {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : null;
  } catch {
    return null;
  }
}

function vmHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * @param {object} o
 * @param {string[]} o.args   yolo-serve batch arguments after `batch` (inputs and flags, not --out)
 * @param {string} o.out      JSONL output path
 * @param {number} o.expected result lines the run will write
 * @param {string} [o.bin]    the yolo-serve executable (default: this checkout's bin/yolo-serve)
 * @returns {Promise<{ips, cpuMsPerImage, startupS, totalS, peakRssMb, rssSource, summary, exitCode}>}
 */
export async function measureServe({ args, out, expected, env = {}, bin = BIN }) {
  const useTime = existsSync(TIME) && process.platform === 'linux';
  const cmd = useTime ? TIME : process.execPath;
  const argv = [...(useTime ? ['-f', 'PEAK_RSS_KB=%M', process.execPath] : []), bin, 'batch', ...args, '--out', out, '--overwrite', '--no-progress'];
  // A leftover file from an earlier run would be counted before the child truncates it.
  rmSync(out, { force: true });
  const counter = new LineCounter(out);
  const t0 = performance.now();
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let first = null;
  let last = null;
  let hwm = 0;
  let pid = null;
  const poll = () => {
    const now = performance.now();
    pid ??= nodePid(child, useTime);
    const lines = counter.poll();
    if (first === null && lines > 0) first = { t: now, lines, cpu: pid ? cpuMs(pid) : NaN };
    if (last === null && lines >= expected) last = { t: now, lines, cpu: pid ? cpuMs(pid) : NaN };
    if (!useTime && pid) hwm = Math.max(hwm, vmHwmKb(pid));
  };
  const timer = setInterval(poll, 20);
  const exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  clearInterval(timer);
  const tEnd = performance.now();
  poll();
  last ??= { t: tEnd, lines: Math.max(0, counter.lines), cpu: NaN };
  let peakKb = hwm;
  if (useTime) {
    const m = /PEAK_RSS_KB=(\d+)/.exec(stderr);
    peakKb = m ? Number(m[1]) : NaN;
    stderr = stderr.replace(/PEAK_RSS_KB=\d+\s*/, '');
  }
  const summary = stderr.split('\n').filter((l) => l.startsWith('yolo-serve:')).pop() ?? '';
  if (exitCode !== 0 || Math.max(0, counter.lines) !== expected) {
    throw new Error(`yolo-serve exited ${exitCode} after ${Math.max(0, counter.lines)}/${expected} lines:\n${stderr.trim()}`);
  }
  const processed = last.lines - (first?.lines ?? 0);
  const processingS = (last.t - (first?.t ?? t0)) / 1000;
  return {
    ips: processed / processingS,
    /** CPU ms per image while processing (all threads; NaN when /proc could not be read in time). */
    cpuMsPerImage: first ? (last.cpu - first.cpu) / processed : NaN,
    startupS: ((first?.t ?? tEnd) - t0) / 1000,
    totalS: (tEnd - t0) / 1000,
    peakRssMb: peakKb / 1024,
    rssSource: useTime ? '/usr/bin/time' : 'VmHWM',
    summary,
    exitCode,
  };
}
