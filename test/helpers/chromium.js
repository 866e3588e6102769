// Debian's chromium, headless, for tests that must see a page as a browser does. Every console
// message (console.*, uncaught errors, Content-Security-Policy refusals) is logged to stderr as
// an `INFO:CONSOLE` line, which is how tests tell that a page ran cleanly.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function findChromium() {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/** The chromium binary; skips the test when there is none (fails it under CI=true: .ci/run installs it). */
export function requireChromium(t) {
  const bin = findChromium();
  if (bin) return bin;
  if (process.env.CI === 'true') assert.fail('chromium not found (required when CI=true; .ci/run installs it)');
  t.skip('chromium not found: apt-get install chromium');
  return null;
}

/**
 * Opens `file` headless with a fresh profile. `mode`: { dumpDom: true } or { screenshot: PNG, size: 'W,H' }.
 * Resolves { code, stdout, consoleLines }.
 */
export function openInChromium(bin, file, mode) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
    '--enable-logging=stderr',
    '--v=0',
    ...(mode.dumpDom ? ['--dump-dom'] : [`--screenshot=${mode.screenshot}`, `--window-size=${mode.size ?? '1280,2000'}`]),
    pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(profile, { recursive: true, force: true });
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), consoleLines: stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) });
    });
  });
}
