// Issue 9 item 11: an offline tool leaves nothing behind but its outputs. onnxruntime-node 1.30's
// Linux build starts Microsoft telemetry in every process (a /tmp/mat-debug-<pid>.log, $TMPDIR/.ses,
// a device id and an event database under ~/.cache/Microsoft/…) unless ORT_DISABLE_TELEMETRY is
// set, or a CI variable is: so this test builds the child's environment from nothing (no CI) with
// a fresh HOME and TMPDIR, runs as an unprivileged user where it can, and lists both afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { BIN, repoRoot } from './helpers/cli.js';
import { writeModel } from './helpers/onnx-builder.js';

let root;
let model;
let img;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'yolo-footprint-'));
  await chmod(root, 0o755);
  model = path.join(root, 'model.onnx');
  const v = new Float32Array(84 * 100);
  v[0] = 32; v[100] = 32; v[200] = 10; v[300] = 10; v[600] = 0.9;
  writeModel(model, { outputDims: [84, 100], values: v, height: 64, width: 64 });
  fs.chmodSync(model, 0o644);
  img = path.join(root, 'a.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: 'grey' } }).png().toFile(img);
  fs.chmodSync(img, 0o644);
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Every path under `dir`, relative, sorted (hidden files included). */
function listAll(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function unprivileged() {
  if (process.getuid?.() !== 0) return [];
  if (spawnSync('setpriv', ['--version']).status !== 0) return [];
  return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
}

/** Runs yolo-serve ARGS with only PATH, HOME and TMPDIR (plus `extraEnv`) in a fresh sandbox. */
async function runSandboxed(name, args, extraEnv = {}) {
  const box = path.join(root, name);
  const home = path.join(box, 'home');
  const tmp = path.join(box, 'tmp');
  const out = path.join(box, 'out');
  for (const d of [box, home, tmp, out]) {
    await mkdir(d, { recursive: true });
    await chmod(d, 0o777);
  }
  const wrap = unprivileged();
  const argv = [...wrap, process.execPath, BIN, ...args(out)];
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stderr: r.stderr, pid: r.pid, home: listAll(home), tmp: listAll(tmp), out: listAll(out) };
}

test('item 11: a run and an inspect leave nothing outside their outputs (no telemetry files, no telemetry line)', async () => {
  const run = await runSandboxed('batch', (out) => ['batch', img, '--model', model, '--out', path.join(out, 'r.jsonl'), '--summary', path.join(out, 's.json')]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.out, ['r.jsonl', 's.json']);
  assert.deepEqual(run.home, [], 'files left in HOME');
  assert.deepEqual(run.tmp, [], 'files left in TMPDIR');
  assert.equal(fs.existsSync(`/tmp/mat-debug-${run.pid}.log`), false);
  assert.doesNotMatch(run.stderr, /telemetry/i);

  const inspect = await runSandboxed('inspect', () => ['inspect', model]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.deepEqual([inspect.home, inspect.tmp], [[], []]);
});

test('item 11: the default is only a default: an explicit ORT_DISABLE_TELEMETRY=0 is obeyed (and shows what the check catches)', async () => {
  const run = await runSandboxed('opt-in', (out) => ['batch', img, '--model', model, '--out', path.join(out, 'r.jsonl'), '-q'], { ORT_DISABLE_TELEMETRY: '0' });
  assert.equal(run.code, 0, run.stderr);
  // onnxruntime's own files: what every run left behind before the default was set.
  assert.ok(run.home.some((p) => p.startsWith('.cache/Microsoft')) || run.tmp.some((p) => p.startsWith('mat-debug-')), `nothing written: ${JSON.stringify(run)}`);
  fs.rmSync(`/tmp/mat-debug-${run.pid}.log`, { force: true });
});
