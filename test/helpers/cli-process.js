// Long-running CLI processes for the reliability tests: start one, watch its output file grow,
// signal or kill it. Plain one-shot runs with captured output are in cli.js.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BIN, repoRoot } from './cli.js';

export { requireShared, repoRoot, sharedDir } from './cli.js';

/**
 * Starts `yolo-serve ARGS`. `done` resolves with { code, signal, stdout, stderr } when it exits.
 * `opts.wrap` prefixes the command (e.g. ['setpriv', '--reuid=65534', ...]).
 */
export function startCli(args, opts = {}) {
  const [cmd, ...pre] = opts.wrap ?? [];
  const child = cmd
    ? spawn(cmd, [...pre, process.execPath, BIN, ...args], { cwd: opts.cwd ?? repoRoot })
    : spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? repoRoot });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

export function runCli(args, opts) {
  return startCli(args, opts).done;
}

/** Polls until `file` has at least `n` line endings; fails after `timeoutMs`. */
export async function waitForLines(file, n, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const count = text.split('\n').length - 1;
    if (count >= n) return count;
    if (Date.now() > until) throw new Error(`${file}: ${count} lines after ${timeoutMs} ms, waited for ${n}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}
