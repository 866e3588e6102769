// Running the built CLI as a subprocess, for end-to-end tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const BIN = path.join(repoRoot, 'bin', 'yolo-serve');

/** True when ../shared is there; otherwise skips the test (fails it under CI=true). */
export async function requireShared(t) {
  try {
    await access(sharedDir);
    return true;
  } catch {
    if (process.env.CI === 'true') assert.fail(`${sharedDir} not found (required under CI)`);
    t.skip(`${sharedDir} not found`);
    return false;
  }
}

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
