// End to end: a run killed (SIGKILL), interrupted (SIGINT, SIGTERM) or stopped twice over,
// then --resume'd, must leave exactly the output of one uninterrupted run — every image once,
// same detections, same order — and interrupted runs must only ever leave whole lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanResults } from '../dist/outputs/read-results.js';
import { readRecordedState } from '../dist/reliability/resume.js';
import { requireShared, runCli, sharedDir, startCli, waitForLines } from './helpers/cli-process.js';

const MODEL = path.join(sharedDir, 'models', 'yolo11n_int8_320.onnx');
const COCO = path.join(sharedDir, 'images', 'coco128');
const COUNT = 40;

let dir;
let manifest;
let images;
const reference = {};

async function haveShared() {
  try {
    await readdir(COCO);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  if (!(await haveShared())) return;
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-resume-'));
  images = (await readdir(COCO)).filter((f) => f.endsWith('.jpg')).sort().slice(0, COUNT).map((f) => path.join(COCO, f));
  manifest = path.join(dir, 'images.txt');
  await writeFile(manifest, images.join('\n') + '\n');
  for (const format of ['jsonl', 'csv']) {
    const out = path.join(dir, `reference.${format}`);
    const res = await runCli(['batch', manifest, '--model', MODEL, '--out', out, '-q']);
    assert.equal(res.code, 0, res.stderr);
    reference[format] = await readFile(out, 'utf8');
  }
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const args = (out) => ['batch', manifest, '--model', MODEL, '--out', out, '-q'];

/** Every line complete, and nothing but whole records in the file. */
async function assertWholeRecords(out, format) {
  const text = await readFile(out, 'utf8');
  assert.ok(text.length > 0);
  assert.ok(text.endsWith('\n'), 'ends with a line ending');
  const scan = await scanResults(out, format);
  assert.equal(scan.tornTail, false);
  assert.equal(scan.validBytes, Buffer.byteLength(text));
  return scan.results;
}

/** The final file equals the uninterrupted run byte for byte, so every image is there once. */
async function assertSameAsReference(out, format) {
  const text = await readFile(out, 'utf8');
  const state = await readRecordedState(out, format);
  assert.deepEqual([...state.keys()].sort(), [...images].sort());
  assert.equal((await scanResults(out, format)).results, COUNT); // no path twice
  assert.equal(text, reference[format]);
}

test('SIGKILL mid-run, torn last line, then --resume: the output equals an uninterrupted run', async (t) => {
  if (!(await requireShared(t))) return;
  const out = path.join(dir, 'killed.jsonl');
  const run = startCli(args(out));
  await waitForLines(out, 6); // the header and 5 records
  run.child.kill('SIGKILL');
  const killed = await run.done;
  assert.equal(killed.signal, 'SIGKILL');
  const written = await assertWholeRecords(out, 'jsonl');
  assert.ok(written >= 5 && written < COUNT, `killed after ${written} of ${COUNT}`);
  // A kill in the middle of a write leaves a partial record; make sure there is one.
  const nextLine = reference.jsonl.split('\n')[written + 1]; // line 0 is the header
  await appendFile(out, nextLine.slice(0, Math.floor(nextLine.length / 2)));

  const resumed = await runCli(['batch', manifest, '--model', MODEL, '--out', out, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resume: cut a torn last record \\(\\d+ bytes\\) from .*; ${written} of ${COUNT} images already in .* \\(${written} ok, 0 failed\\); ${COUNT - written} to do`));
  await assertSameAsReference(out, 'jsonl');
});

test('SIGINT: in-flight images finish, whole lines, exit 130; --resume completes it', async (t) => {
  if (!(await requireShared(t))) return;
  const out = path.join(dir, 'int.jsonl');
  const run = startCli(args(out));
  await waitForLines(out, 5);
  run.child.kill('SIGINT');
  const res = await run.done;
  assert.equal(res.code, 130, res.stderr);
  assert.match(res.stderr, /SIGINT received: finishing the images in flight \(at most 10s\), then stopping; SIGINT again exits at once/);
  const written = await assertWholeRecords(out, 'jsonl');
  assert.ok(written < COUNT, `interrupted after ${written} of ${COUNT}`);
  assert.match(res.stderr, new RegExp(`interrupted by SIGINT: ${COUNT - written} images not processed; rerun the same command with --resume to continue`));
  // What was written is the start of the uninterrupted output.
  assert.ok(reference.jsonl.startsWith(await readFile(out, 'utf8')));

  const resumed = await runCli([...args(out), '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  await assertSameAsReference(out, 'jsonl');
});

test('SIGTERM on a CSV run: exit 143, whole records; --resume appends without a second header', async (t) => {
  if (!(await requireShared(t))) return;
  const out = path.join(dir, 'term.csv');
  const run = startCli(args(out));
  await waitForLines(out, 6);
  run.child.kill('SIGTERM');
  const res = await run.done;
  assert.equal(res.code, 143, res.stderr);
  const written = await assertWholeRecords(out, 'csv');
  assert.ok(written < COUNT);

  const resumed = await runCli([...args(out), '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  await assertSameAsReference(out, 'csv');
  assert.equal((await readFile(out, 'utf8')).split('path,width,height').length, 2); // one header
});

test('a second signal exits at once, still leaving only whole records', async (t) => {
  if (!(await requireShared(t))) return;
  const out = path.join(dir, 'twice.csv');
  const run = startCli(args(out));
  await waitForLines(out, 6);
  run.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 20));
  run.child.kill('SIGINT');
  const res = await run.done;
  // Killed by SIGINT itself (a shell shows 130), not a normal exit.
  assert.equal(res.signal, 'SIGINT', res.stderr);
  assert.match(res.stderr, /SIGINT again: exiting now/);
  const written = await assertWholeRecords(out, 'csv');
  assert.ok(reference.csv.startsWith(await readFile(out, 'utf8')), `${written} records are a prefix of the full run`);
});
