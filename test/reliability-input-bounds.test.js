// Attacks on how inputs are opened and read (issue 9, items 5, 6, 7 and the non-UTF-8 names):
// special files must never hang or be read without end, every read is bounded, memory follows a
// budget and not the file, and nothing that could not be read disappears without a record.
// All on a synthetic model (test/helpers/onnx-builder.js): no ../shared needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { expandInputs } from '../dist/inputs/expand.js';
import { bytesOfPath, pathFromBytes } from '../dist/inputs/fs-path.js';
import { DecodeBudget, decodeImage } from '../dist/preprocess/decode.js';
import { BIN, repoRoot, runCli } from './helpers/cli.js';
import { writeModel } from './helpers/onnx-builder.js';
import { greyPng } from './helpers/png.js';

const require = createRequire(import.meta.url);
let dir;
let model;
let jpg;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-bounds-'));
  await chmod(dir, 0o755); // the uid-65534 tests below must be able to enter it
  model = path.join(dir, 'model.onnx');
  // [1, 84, 100]: one car (class 2) at 0.9; 80 COCO classes (no names metadata).
  const n = 100;
  const v = new Float32Array(84 * n);
  v[0] = 32; v[n] = 32; v[2 * n] = 20; v[3 * n] = 20; v[(4 + 2) * n] = 0.9;
  writeModel(model, { outputDims: [84, n], values: v, height: 64, width: 64 });
  jpg = path.join(dir, 'good.jpg');
  await sharp({ create: { width: 80, height: 60, channels: 3, background: 'grey' } }).jpeg().toFile(jpg);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = { ORT_DISABLE_TELEMETRY: '1' };

async function records(file) {
  const text = await readFile(file, 'utf8');
  // Image records only: a results file starts with its provenance header line.
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => !r.yolo_serve);
}

function mkfifo(p) {
  const r = spawnSync('mkfifo', [p]);
  assert.equal(r.status, 0, `mkfifo failed: ${r.stderr}`);
}

/** Runs the CLI; SIGTERM at `termAfterMs` if still running; SIGKILL (and a failed test) if it then outlives `limitMs`. */
function runWithDeadline(args, { termAfterMs, limitMs }) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const started = Date.now();
  const term = setTimeout(() => child.kill('SIGTERM'), termAfterMs);
  let killed = false;
  const kill = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, signal, stderr, killed, ms: Date.now() - started });
    });
  });
}

// ------------------------------------------------------------------ item 5: special files

test('item 5: a FIFO named like an image (explicitly, in a manifest, in a directory) and /dev/zero as .jpg are refused at once', async () => {
  const d = path.join(dir, 'special');
  await mkdir(d);
  mkfifo(path.join(d, 'pipe.jpg'));
  await symlink('/dev/zero', path.join(d, 'zero.jpg'));
  const listed = path.join(dir, 'special-list');
  await mkdir(listed);
  mkfifo(path.join(listed, 'listed.png'));
  const manifest = path.join(dir, 'special.txt');
  await writeFile(manifest, 'special-list/listed.png\ngood.jpg\n');
  const out = path.join(dir, 'special.jsonl');
  // Nothing ever writes to the FIFOs: an open() or read() of them would block for ever. Named
  // explicitly and in a manifest:
  const res = await runWithDeadline(['batch', path.join(d, 'pipe.jpg'), path.join(d, 'zero.jpg'), manifest, '--model', model, '--out', out, '-q'], { termAfterMs: 15_000, limitMs: 30_000 });
  assert.equal(res.killed, false, `the run hung (still alive 15 s after SIGTERM):\n${res.stderr}`);
  assert.equal(res.code, 1, res.stderr);
  const got = await records(out);
  assert.deepEqual(got.map((r) => [path.relative(dir, r.path), r.error?.code ?? null]), [
    ['special/pipe.jpg', 'SPECIAL_FILE'],
    ['special/zero.jpg', 'SPECIAL_FILE'],
    ['special-list/listed.png', 'SPECIAL_FILE'],
    ['good.jpg', null],
  ]);
  assert.match(got[0].error.message, /pipe\.jpg: is a FIFO \(named pipe\), not a regular file/);
  assert.match(got[1].error.message, /zero\.jpg: is a character device, not a regular file/);
  // Found in a directory: reported like any image that cannot be read, not skipped.
  const walked = await runWithDeadline(['batch', d, '--model', model, '--out', '-', '-q'], { termAfterMs: 15_000, limitMs: 30_000 });
  assert.equal(walked.code, 1, walked.stderr);
});

test('item 5: a FIFO named as a manifest is an input error, not a hang', async () => {
  const fifo = path.join(dir, 'fifo-list.txt');
  mkfifo(fifo);
  const res = await runWithDeadline(['batch', fifo, '--model', model, '--out', path.join(dir, 'fifo-list.jsonl')], { termAfterMs: 20_000, limitMs: 35_000 });
  assert.equal(res.killed, false, 'the run hung');
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /cannot read manifest .*fifo-list\.txt: is a FIFO \(named pipe\), not a regular file/);
});

test('item 5: the first SIGTERM ends the process even when a read is stuck in the kernel', async () => {
  // A child whose event loop is held by an open() that never returns (a FIFO opened without
  // O_NONBLOCK, as a hung NFS read would be): after a stopped run, endStoppedProcess must still end it.
  const fifo = path.join(dir, 'stuck-fifo');
  mkfifo(fifo);
  const script = `
    import { open } from 'node:fs/promises';
    import { endStoppedProcess } from ${JSON.stringify(path.join(repoRoot, 'dist/reliability/stuck-exit.js'))};
    open(${JSON.stringify(fifo)}); // blocks a libuv thread for ever
    process.exitCode = 143;
    endStoppedProcess(process, 'SIGTERM', 300);
  `;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
  assert.equal(r.error, undefined, `the process did not end: ${r.error}`);
  assert.equal(r.signal, 'SIGTERM', `status ${r.status}: ${r.stderr}`);
  assert.ok(Date.now() - started < 5_000);
});

test('item 5: reads are bounded by --max-file-size, checked before reading', async () => {
  const big = path.join(dir, 'big.jpg');
  await writeFile(big, await readFile(jpg));
  await truncate(big, 300 * 1024 * 1024); // a sparse 300 MB "JPEG"
  const rss0 = process.memoryUsage().rss;
  const r = await decodeImage(big, { maxPixels: 1e8 });
  assert.deepEqual(r.error, { code: 'TOO_LARGE', message: `${big}: file is 314572800 bytes, above the limit of 268435456 bytes (--max-file-size)` });
  assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, 'the file was read');
  const small = await decodeImage(jpg, { maxPixels: 1e8, maxFileBytes: 100 });
  assert.equal(small.error.code, 'TOO_LARGE');
  const res = await runCli(['batch', jpg, '--model', model, '--out', '-', '--max-file-size', '100', '-q'], { env });
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /"code":"TOO_LARGE","message":"[^"]*good\.jpg: file is \d+ bytes, above the limit of 100 bytes/);
  const bad = await runCli(['batch', jpg, '--model', model, '--out', '-', '--max-file-size', 'lots'], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-file-size must be a size in bytes/);
});

// ------------------------------------------------------------------ item 6: memory budget

test('item 6: a small PNG that expands to 16000² pixels is refused from its header by default', async () => {
  const p = path.join(dir, 'expands.png');
  await writeFile(p, greyPng(16000, 16000)); // ~250 kB on disk, 768 MB as RGB
  assert.ok(fs.statSync(p).size < 1024 * 1024);
  const rss0 = process.memoryUsage().rss;
  const r = await decodeImage(p, { maxPixels: 134217728 });
  assert.deepEqual(r.error, { code: 'TOO_LARGE', message: `${p}: image (16000x16000) has more pixels than the limit of 134217728` });
  assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024);
  const res = await runCli(['batch', p, '--model', model, '--out', '-', '-q'], { env }); // the default limit
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /"TOO_LARGE"/);
});

test('item 6: an SVG named .png is refused unless --allow-vector; a huge non-image named .jpg is judged by its first bytes', async () => {
  const svg = path.join(dir, 'vector.png');
  await writeFile(svg, '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48" fill="red"/></svg>\n');
  const r = await decodeImage(svg, { maxPixels: 1e8 });
  assert.deepEqual(r.error, { code: 'UNSUPPORTED_TYPE', message: `${svg}: is an SVG (vector) image; vector images are refused unless --allow-vector is given` });
  const allowed = await decodeImage(svg, { maxPixels: 1e8, allowVector: true });
  assert.equal(allowed.ok, true);
  assert.deepEqual([allowed.image.width, allowed.image.height], [64, 48]);
  const pdf = path.join(dir, 'doc.jpg');
  await writeFile(pdf, '%PDF-1.7\n%...\n');
  assert.equal((await decodeImage(pdf, { maxPixels: 1e8, allowVector: true })).error.code, 'UNSUPPORTED_TYPE');

  // 200 MB of text named .jpg, under the size limit: refused from its first 1 MiB, not read whole.
  const fake = path.join(dir, 'fake.jpg');
  await writeFile(fake, 'not an image\n'.repeat(1000));
  await truncate(fake, 200 * 1024 * 1024);
  const rss0 = process.memoryUsage().rss;
  const f = await decodeImage(fake, { maxPixels: 1e8 });
  assert.deepEqual(f.error, { code: 'DECODE_FAILED', message: `${fake}: cannot decode image (Input buffer contains unsupported image format)` });
  assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, 'the whole file was read');

  const cli = await runCli(['batch', svg, '--model', model, '--out', '-', '-q'], { env });
  assert.equal(cli.code, 1);
  const cliAllowed = await runCli(['batch', svg, '--model', model, '--out', '-', '-q', '--allow-vector'], { env });
  assert.equal(cliAllowed.code, 0, cliAllowed.stderr);
});

test('item 6: concurrent decodes never hold more than the budget (pixels × 3 + file bytes)', async () => {
  const p = path.join(dir, 'mid.png');
  await writeFile(p, greyPng(2000, 1500)); // 3 M pixels, 9 MB decoded
  const size = fs.statSync(p).size;
  const weight = 2000 * 1500 * 3 + size;
  // Room for two such images at once, not eight.
  const budget = new DecodeBudget(2 * weight + 1000);
  let peak = 0;
  const acquire = budget.acquire.bind(budget);
  budget.acquire = async (bytes) => {
    const release = await acquire(bytes);
    peak = Math.max(peak, budget.inUse);
    return release;
  };
  const results = await Promise.all(Array.from({ length: 8 }, () => decodeImage(p, { maxPixels: 1e8, budget })));
  assert.ok(results.every((r) => r.ok));
  assert.equal(peak, 2 * weight);
  assert.equal(budget.inUse, 0);
  // A single image larger than the whole budget still runs (alone): the budget cannot deadlock.
  const tiny = new DecodeBudget(10);
  assert.equal((await decodeImage(p, { maxPixels: 1e8, budget: tiny })).ok, true);
});

// ------------------------------------------------------------------ item 7: unreadable directories

function asNobody(t) {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to switch to an unprivileged uid');
    return null;
  }
  if (spawnSync('setpriv', ['--version']).status !== 0) {
    t.skip('setpriv not available');
    return null;
  }
  return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
}

function runWrapped(wrap, args) {
  const [cmd, ...pre] = wrap;
  const r = spawnSync(cmd, [...pre, process.execPath, BIN, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('item 7: an unreadable sub-directory is an error record, in a directory walk and in a glob, and counts against the budget', async (t) => {
  const wrap = asNobody(t);
  if (!wrap) return;
  const d = path.join(dir, 'walk');
  await mkdir(path.join(d, 'open'), { recursive: true });
  await mkdir(path.join(d, 'locked'));
  await writeFile(path.join(d, 'open', 'a.jpg'), await readFile(jpg));
  await writeFile(path.join(d, 'locked', 'b.jpg'), await readFile(jpg));
  await chmod(path.join(d, 'open'), 0o755);
  await chmod(path.join(d, 'locked'), 0o000);
  await chmod(d, 0o755);
  const outDir = path.join(dir, 'out-walk');
  await mkdir(outDir);
  await chmod(outDir, 0o777);

  const locked = path.join(d, 'locked');
  const want = [
    [locked, { code: 'UNREADABLE', message: `${locked}: cannot read directory (permission denied); the images in it were not listed` }],
    [path.join(d, 'open', 'a.jpg'), null],
  ];
  const out = path.join(outDir, 'walk.jsonl');
  const res = runWrapped(wrap, ['batch', d, '--model', model, '--out', out]);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual((await records(out)).map((r) => [r.path, r.error]), want);
  assert.match(res.stderr, /2 images \(1 ok, 1 failed\)/);

  const globOut = path.join(outDir, 'glob.jsonl');
  const glob = runWrapped(wrap, ['batch', `${d}/**/*.jpg`, '--model', model, '--out', globOut]);
  assert.equal(glob.code, 1, glob.stderr);
  assert.deepEqual((await records(globOut)).map((r) => [r.path, r.error]), want);

  // Only the unreadable directory exists: still a visible failure, and the budget stops the run.
  const only = path.join(d, 'only');
  await mkdir(path.join(only, 'locked'), { recursive: true });
  await chmod(only, 0o755);
  await chmod(path.join(only, 'locked'), 0o000);
  const budget = runWrapped(wrap, ['batch', only, '--model', model, '--out', path.join(outDir, 'budget.jsonl'), '--max-failures', '0']);
  assert.equal(budget.code, 1, budget.stderr);
  assert.match(budget.stderr, /stopping: 1 of 1 images failed .* last error: UNREADABLE: .*only\/locked: cannot read directory/);
});

test('item 7: a directory that fails to list for another reason is reported too (injected EIO)', async () => {
  const d = path.join(dir, 'eio');
  await mkdir(path.join(d, 'sub'), { recursive: true });
  await writeFile(path.join(d, 'x.jpg'), 'x');
  const fsp = require('node:fs/promises');
  const real = fsp.readdir;
  // walk.ts imports readdir from node:fs/promises: fail the sub-directory's listing, then make
  // the ES module bindings see the replacement.
  fsp.readdir = async (p, o) => {
    if (String(p).endsWith(`${path.sep}sub`)) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    return real(p, o);
  };
  syncBuiltinESMExports();
  try {
    const { jobs } = await expandInputs([d], { recursive: true });
    assert.deepEqual(jobs.map((j) => [path.basename(j.path), j.error ?? null]), [
      ['sub', { code: 'UNREADABLE', message: `${path.join(d, 'sub')}: cannot read directory (EIO); the images in it were not listed` }],
      ['x.jpg', null],
    ]);
  } finally {
    fsp.readdir = real;
    syncBuiltinESMExports();
  }
});

// ------------------------------------------------------------------ non-UTF-8 file names

test('a file name that is not UTF-8 is processed (directory walk and stdin), not NOT_FOUND', async () => {
  const d = path.join(dir, 'latin1');
  await mkdir(d);
  const nameBytes = Buffer.concat([Buffer.from(d + '/caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]); // "café" in Latin-1
  fs.writeFileSync(nameBytes, fs.readFileSync(jpg));
  const display = pathFromBytes(nameBytes);
  assert.equal(display, `${d}/caf\udce9.jpg`);
  assert.deepEqual(bytesOfPath(display), nameBytes);

  const out = path.join(dir, 'latin1.jsonl');
  const res = await runCli(['batch', d, '--model', model, '--out', out, '-q'], { env });
  assert.equal(res.code, 0, res.stderr);
  const text = await readFile(out, 'utf8');
  assert.ok(text.includes('caf\\udce9.jpg'), text); // JSON keeps the byte (Python: os.fsencode)
  const [rec] = await records(out);
  assert.equal(rec.path, display);
  assert.equal(rec.error, null);
  assert.equal(rec.detections.length, 1);

  // The same name arriving as bytes on stdin (find … | yolo-serve batch -).
  const child = spawnSync(process.execPath, [BIN, 'batch', '-', '--model', model, '--out', '-', '-q'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    input: Buffer.concat([nameBytes, Buffer.from('\n')]),
  });
  assert.equal(child.status, 0, String(child.stderr));
  const lines = String(child.stdout).split('\n').filter(Boolean); // the provenance header, then the record
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[1]).error, null);
});
