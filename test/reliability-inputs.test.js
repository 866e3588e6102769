// Hostile inputs, the error budget and output safety, end to end: every broken input becomes an
// error record with a stable code while the run goes on; too many failures, a full disk or an
// unwritable output stop the run with a clear message and a documented exit code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expandInputs } from '../dist/inputs/expand.js';
import { decodeImage } from '../dist/preprocess/decode.js';
import { readCsvResults, readJsonlResults } from '../dist/outputs/read-results.js';
import { readRecordedState } from '../dist/reliability/resume.js';
import { requireShared, runCli, sharedDir } from './helpers/cli-process.js';
import { greyPng } from './helpers/png.js';

const MODEL = path.join(sharedDir, 'models', 'yolo11n_int8_320.onnx');
const COCO = path.join(sharedDir, 'images', 'coco128');
const JPG_A = path.join(COCO, '000000000009.jpg'); // 640x480
const JPG_B = path.join(COCO, '000000000025.jpg'); // 640x426
const BUS = path.join(sharedDir, 'images', 'samples', 'bus.jpg'); // 810x1080 = 874,800 px

let dir;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-hostile-'));
  await chmod(dir, 0o755); // the non-root test below must be able to enter it
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ building hostile files

/**
 * A decompression bomb: a valid 8-bit greyscale PNG header claiming width×height, followed by
 * deflated zero rows (only the first few: the point is that the header alone must reject it).
 */
const pngBomb = (width, height) => greyPng(width, height, 4);

// ------------------------------------------------------------------ tests

test('a decompression bomb is rejected from its header, without allocating its pixels', async () => {
  const bomb = path.join(dir, 'bomb-unit.png');
  await writeFile(bomb, pngBomb(30000, 30000));
  const rssBefore = process.memoryUsage().rss;
  const res = await decodeImage(bomb, { maxPixels: 268402689 });
  const grew = process.memoryUsage().rss - rssBefore;
  assert.deepEqual(res, {
    ok: false,
    error: { code: 'TOO_LARGE', message: `${bomb}: image (30000x30000) has more pixels than the limit of 268402689` },
  });
  // Decoding it would need 900 MB (2.7 GB as RGB); the check reads only the header.
  assert.ok(grew < 64 * 1024 * 1024, `rss grew by ${grew} bytes`);
});

test('a file deleted between listing and reading is NOT_FOUND', async () => {
  const sub = path.join(dir, 'vanishing');
  await mkdir(sub);
  await writeFile(path.join(sub, 'a.jpg'), 'x');
  await writeFile(path.join(sub, 'gone.jpg'), 'x');
  const { jobs } = await expandInputs([sub], { recursive: true });
  assert.deepEqual(jobs.map((j) => path.basename(j.path)), ['a.jpg', 'gone.jpg']);
  await unlink(path.join(sub, 'gone.jpg'));
  const res = await decodeImage(jobs[1].path, { maxPixels: 1e9 });
  assert.deepEqual(res.error, { code: 'NOT_FOUND', message: `${jobs[1].path}: file not found` });
});

test('hostile inputs: each becomes an error record with a stable code; the run continues (JSONL and CSV)', async (t) => {
  if (!(await requireShared(t))) return;
  const h = path.join(dir, 'hostile');
  await mkdir(h);
  await copyFile(JPG_A, path.join(h, 'good.jpg'));
  await copyFile(JPG_B, path.join(h, 'with space é 猫.jpg'));
  await writeFile(path.join(h, 'zero.jpg'), '');
  await writeFile(path.join(h, 'text.jpg'), 'this is not a JPEG\n');
  await writeFile(path.join(h, 'truncated.jpg'), (await readFile(JPG_A)).subarray(0, 20000)); // cut inside the scan data
  await writeFile(path.join(h, 'bomb.png'), pngBomb(30000, 30000));
  await copyFile(BUS, path.join(h, 'large.jpg'));
  await symlink('nowhere.jpg', path.join(h, 'broken.jpg'));
  await symlink('self.jpg', path.join(h, 'self.jpg')); // ELOOP
  await symlink('.', path.join(h, 'loop')); // a directory loop: walked once
  await writeFile(path.join(h, 'notes.txt'), 'skipped, not an image');
  // Names only a manifest can carry, and manifest lines pointing at the wrong things.
  const named = path.join(dir, 'named');
  await mkdir(named);
  await copyFile(JPG_B, path.join(named, 'new\nline.jpg'));
  await mkdir(path.join(named, 'folder'));
  await mkdir(path.join(named, 'folder.jpg'));
  const manifest = path.join(dir, 'list.jsonl');
  const listed = ['named/new\nline.jpg', 'named/folder', 'named/folder.jpg', 'named/missing.jpg'];
  await writeFile(manifest, listed.map((p) => JSON.stringify({ path: p })).join('\n') + '\n');

  const p = (...parts) => path.join(dir, ...parts);
  const expected = [
    [p('hostile', 'bomb.png'), 'TOO_LARGE'],
    [p('hostile', 'broken.jpg'), 'NOT_FOUND'],
    [p('hostile', 'good.jpg'), null],
    [p('hostile', 'large.jpg'), 'TOO_LARGE'],
    [p('hostile', 'self.jpg'), 'UNREADABLE'],
    [p('hostile', 'text.jpg'), 'DECODE_FAILED'],
    [p('hostile', 'truncated.jpg'), 'DECODE_FAILED'],
    [p('hostile', 'with space é 猫.jpg'), null],
    [p('hostile', 'zero.jpg'), 'EMPTY_FILE'],
    [p('named', 'new\nline.jpg'), null],
    [p('named', 'folder'), 'IS_DIRECTORY'],
    [p('named', 'folder.jpg'), 'IS_DIRECTORY'],
    [p('named', 'missing.jpg'), 'NOT_FOUND'],
  ];
  const common = ['batch', h, manifest, '--model', MODEL, '--max-pixels', '500000'];

  const outJsonl = p('hostile.jsonl');
  const res = await runCli([...common, '--out', outJsonl]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /13 images \(3 ok, 10 failed, 1 non-image file skipped\)/);
  const records = [];
  for await (const r of readJsonlResults(outJsonl)) records.push(r);
  assert.deepEqual(records.map((r) => [r.path, r.error?.code ?? null]), expected);
  const byPath = new Map(records.map((r) => [r.path, r]));
  assert.equal(byPath.get(p('hostile', 'large.jpg')).error.message, `${p('hostile', 'large.jpg')}: image (810x1080) has more pixels than the limit of 500000`);
  assert.match(byPath.get(p('hostile', 'truncated.jpg')).error.message, /: cannot decode image \(truncated JPEG: no end-of-image marker/);
  assert.match(byPath.get(p('hostile', 'self.jpg')).error.message, /ELOOP/);
  assert.deepEqual([byPath.get(p('named', 'new\nline.jpg')).width, byPath.get(p('named', 'new\nline.jpg')).height], [640, 426]);
  assert.ok(byPath.get(p('hostile', 'with space é 猫.jpg')).detections.length > 0);

  // The same through CSV, read back with the resume reader (a newline inside a quoted path).
  const outCsv = p('hostile.csv');
  const csv = await runCli([...common, '--out', outCsv]);
  assert.equal(csv.code, 1, csv.stderr);
  const csvRecords = [];
  for await (const r of readCsvResults(outCsv)) csvRecords.push(r);
  assert.deepEqual(csvRecords.map((r) => [r.path, r.error?.code ?? null]), expected);
  assert.deepEqual(csvRecords.map((r) => r.detections), records.map((r) => r.detections));

  // --resume with everything recorded: nothing to do, the kept failures still make it exit 1.
  const before = await readFile(outCsv, 'utf8');
  const again = await runCli([...common, '--out', outCsv, '--resume']);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /resume: 13 of 13 images already in .* \(3 ok, 10 failed\); 0 to do/);
  assert.equal(await readFile(outCsv, 'utf8'), before);

  // Fix two inputs, then --resume --retry-failed: failures are appended again; the last record
  // for a path is its final state.
  await copyFile(JPG_A, p('hostile', 'zero.jpg'));
  await unlink(p('hostile', 'broken.jpg'));
  await symlink('good.jpg', p('hostile', 'broken.jpg'));
  const retry = await runCli([...common, '--out', outCsv, '--resume', '--retry-failed']);
  assert.equal(retry.code, 1, retry.stderr);
  assert.match(retry.stderr, /resume: 13 of 13 images already in .* \(3 ok, 10 failed\), retrying 10 failed; 10 to do/);
  const after = await readFile(outCsv, 'utf8');
  assert.ok(after.startsWith(before));
  assert.equal(after.split('path,width,height,detections,class').length, 2); // no second header
  const final = await readRecordedState(outCsv, 'csv');
  assert.equal(final.get(p('hostile', 'zero.jpg')), null);
  assert.equal(final.get(p('hostile', 'broken.jpg')), null);
  assert.equal(final.get(p('hostile', 'text.jpg')), 'DECODE_FAILED');
  assert.equal([...final.values()].filter((v) => v !== null).length, 8);
});

test('error budget: --max-failures and --max-failure-rate stop the run with exit 1 and the reason', async (t) => {
  if (!(await requireShared(t))) return;
  const b = path.join(dir, 'budget');
  await mkdir(b);
  await copyFile(JPG_A, path.join(b, 'a.jpg'));
  for (let i = 1; i <= 40; i++) await writeFile(path.join(b, `b${String(i).padStart(2, '0')}.jpg`), 'not an image');
  const last = (n) => `DECODE_FAILED: ${path.join(b, `b${n}.jpg`)}: cannot decode image (Input buffer contains unsupported image format)`;

  const out = path.join(dir, 'budget.jsonl');
  const res = await runCli(['batch', b, '--model', MODEL, '--out', out, '--max-failures', '3', '-q']);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, new RegExp(`^yolo-serve: stopping: 4 of 5 images failed \\(80%\\), above --max-failures 3 — last error: ${escape(last('04'))}$`, 'm'));
  const lines = (await readFile(out, 'utf8')).split('\n').slice(1, -1); // records: after the header
  // In-flight images still finish, but the run stops long before the 41st.
  assert.ok(lines.length >= 5 && lines.length < 41, `${lines.length} records`);
  assert.match(res.stderr, new RegExp(`${41 - lines.length} images not processed; rerun the same command with --resume`));

  const rate = await runCli(['batch', b, '--model', MODEL, '--out', out, '--overwrite', '--max-failure-rate', '0.05', '-q']);
  assert.equal(rate.code, 1, rate.stderr);
  assert.match(rate.stderr, new RegExp(`stopping: 19 of 20 images failed \\(95%\\), above --max-failure-rate 0\\.05 — last error: ${escape(last('19'))}`));
});

test('output safety: a full disk stops the run with exit 3 and a clear message', async (t) => {
  if (!(await requireShared(t))) return;
  const res = await runCli(['batch', JPG_A, JPG_B, '--model', MODEL, '--out', '/dev/full', '--format', 'jsonl', '-q']);
  assert.equal(res.code, 3, res.stderr);
  assert.match(res.stderr, /^yolo-serve: error: cannot write results to \/dev\/full: ENOSPC: no space left on device/m);
  assert.match(res.stderr, /the run stopped; the output keeps every record written so far/);
  assert.doesNotMatch(res.stderr, /internal error|at .*\.js:\d+/);
});

test('output safety: flags that contradict --resume are usage errors (exit 2)', async (t) => {
  if (!(await requireShared(t))) return;
  const out = path.join(dir, 'flags.jsonl');
  const a = await runCli(['batch', JPG_A, '--model', MODEL, '--out', out, '--resume', '--overwrite']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--resume and --overwrite contradict/);
  const b = await runCli(['batch', JPG_A, '--model', MODEL, '--out', out, '--retry-failed']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--retry-failed only applies with --resume/);
  // A results file whose second record is garbage: refused, naming the line, and left as it was.
  const first = await runCli(['batch', JPG_A, '--model', MODEL, '--out', out, '-q']);
  assert.equal(first.code, 0, first.stderr);
  await appendFile(out, 'not json\n');
  const before = await readFile(out);
  const c = await runCli(['batch', JPG_A, '--model', MODEL, '--out', out, '--resume']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /cannot resume from .*flags\.jsonl: .*line 3: invalid JSON/);
  assert.deepEqual(await readFile(out), before);
});

test('permissions (as uid 65534): unreadable image → UNREADABLE; unwritable output → exit 2 before work', async (t) => {
  if (!(await requireShared(t))) return;
  if (process.getuid?.() !== 0) return t.skip('needs root to switch to an unprivileged uid');
  if (spawnSync('setpriv', ['--version']).status !== 0) return t.skip('setpriv not available');
  const asNobody = { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] };
  const perm = path.join(dir, 'perm');
  await mkdir(perm, { mode: 0o755 });
  await chmod(perm, 0o755);
  await copyFile(JPG_A, path.join(perm, 'ok.jpg'));
  await copyFile(JPG_B, path.join(perm, 'locked.jpg'));
  await chmod(path.join(perm, 'locked.jpg'), 0o000);
  const outDir = path.join(dir, 'writable');
  await mkdir(outDir);
  await chmod(outDir, 0o777);

  const out = path.join(outDir, 'perm.jsonl');
  const res = await runCli(['batch', perm, '--model', MODEL, '--out', out], asNobody);
  assert.equal(res.code, 1, res.stderr);
  const recs = [];
  for await (const r of readJsonlResults(out)) recs.push([path.basename(r.path), r.error]);
  assert.deepEqual(recs, [
    ['locked.jpg', { code: 'UNREADABLE', message: `${path.join(perm, 'locked.jpg')}: permission denied` }],
    ['ok.jpg', null],
  ]);

  // A directory the user cannot write to: refused before the model is even run.
  const denied = await runCli(['batch', perm, '--model', MODEL, '--out', path.join(perm, 'x.jsonl')], asNobody);
  assert.equal(denied.code, 2);
  assert.equal(denied.stderr, `yolo-serve: cannot write output ${path.join(perm, 'x.jsonl')}: directory ${perm} is not writable\n`);
  // An existing output file the user cannot write to (resume would append to it).
  const ro = path.join(outDir, 'readonly.jsonl');
  await writeFile(ro, '');
  await chmod(ro, 0o444);
  const roRes = await runCli(['batch', perm, '--model', MODEL, '--out', ro, '--resume'], asNobody);
  assert.equal(roRes.code, 2);
  assert.match(roRes.stderr, /cannot write output .*readonly\.jsonl: permission denied/);
});

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
