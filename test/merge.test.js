import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { comparePaths, pathOrder, pathGroups, resolveGroup } from '../dist/merge/plan.js';
import { runMerge, toMergeOptions } from '../dist/commands/merge.js';
import { UsageError } from '../dist/config.js';
import { runCli, writeImages, writeSyntheticModel } from './helpers/shard-fixtures.js';
import { toRunConfig } from '../dist/program.js';
import { runBatch } from '../dist/commands/batch.js';
import { formatHeaderLine } from '../dist/outputs/provenance.js';

// Records as batch writes them (JSONL), for images under /d.
const det = (name, cls, conf, x1) => `{"name":"${name}","class":${cls},"confidence":${conf},"box":{"x1":${x1},"y1":2,"x2":30,"y2":40}}`;
const A = `{"path":"/d/a.jpg","width":64,"height":48,"detections":[${det('cat', 0, 0.5, 1)},${det('dog', 1, 0.25, 3)}],"error":null}`;
const A2 = `{"path":"/d/a.jpg","width":64,"height":48,"detections":[${det('cat', 0, 0.51, 1)},${det('dog', 1, 0.25, 3)}],"error":null}`;
const B = `{"path":"/d/B.jpg","width":10,"height":10,"detections":[],"error":null}`;
const C_FAIL = `{"path":"/d/c.jpg","width":null,"height":null,"detections":[],"error":{"code":"DECODE_FAILED","message":"truncated"}}`;
const C_OK = `{"path":"/d/c.jpg","width":8,"height":6,"detections":[${det('cat', 0, 0.9, 0)}],"error":null}`;
const D = `{"path":"/d/sub/d.jpg","width":5,"height":5,"detections":[],"error":null}`;
const E = `{"path":"/d/a b.jpg","width":7,"height":7,"detections":[],"error":null}`;

const CSV_HEAD = 'path,width,height,detections,class,name,confidence,x1,y1,x2,y2,error\n';

// Every part starts with the provenance header of the run that wrote it; all parts here are of one run.
const PROV = {
  schema: 1,
  version: '0.1.0',
  task: 'detect',
  model: { file: 'm.onnx', sha256: 'a'.repeat(64), names_sha256: 'b'.repeat(64) },
  options: { agnostic_nms: false, classes: null, conf: 0.25, imgsz: [64, 64], iou: 0.7, max_det: 300, max_pixels: 268402689 },
};
const HEAD_J = formatHeaderLine({ provenance: PROV, mixed: [] }, 'jsonl');
const HEAD_C = formatHeaderLine({ provenance: PROV, mixed: [] }, 'csv');
/** What merge writes: the header, then the records. */
const merged = (...recs) => HEAD_J + jsonl(...recs);

const tempDir = () => mkdtemp(path.join(tmpdir(), 'yolo-merge-'));

function io() {
  let err = '';
  let out = '';
  const stderr = new PassThrough();
  const stdout = new PassThrough();
  stderr.on('data', (d) => (err += d));
  stdout.on('data', (d) => (out += d));
  return { io: { stdin: new PassThrough(), stdout, stderr }, stderr: () => err, stdout: () => out };
}

const opts = (out, parts, extra = {}) => ({ ...toMergeOptions(out, parts, { recursive: true, pathColumn: 'path' }), ...extra });

async function withDir(fn) {
  const dir = await tempDir();
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function parts(dir, contents, ext = 'jsonl') {
  const files = [];
  for (const [i, text] of contents.entries()) {
    const file = path.join(dir, `part-${i}.${ext}`);
    await writeFile(file, text === '' ? '' : (ext === 'csv' ? HEAD_C : HEAD_J) + text);
    files.push(file);
  }
  return files;
}

const jsonl = (...recs) => recs.map((r) => `${r}\n`).join('');

// --- order and duplicate rules (pure) ---------------------------------------------------------

test('comparePaths is UTF-8 byte order, not UTF-16 order', () => {
  const paths = ['/d/b.jpg', '/d/B.jpg', '/d/a b.jpg', '/d/a.jpg', '/d/\uFFFD.jpg', '/d/\u{1F600}.jpg', '/d/é.jpg', '/d/a/x.jpg', '/d/a.jpg.txt', '/d/\uE000.jpg'];
  const byBytes = [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual([...paths].sort(comparePaths), byBytes);
  // The case plain `<` gets wrong: U+1F600 (F0 9F 98 80) sorts after U+FFFD (EF BF BD).
  assert.ok(comparePaths('\u{1F600}', '\uFFFD') > 0);
  assert.ok('\u{1F600}' < '\uFFFD');
  assert.deepEqual(byBytes.slice(0, 4), ['/d/B.jpg', '/d/a b.jpg', '/d/a.jpg', '/d/a.jpg.txt']);
  assert.equal(comparePaths('/x', '/x'), 0);
});

test('pathOrder / pathGroups: stable by entry number within a path', () => {
  const paths = ['/c', '/a', '/b', '/a', '/c', '/a'];
  const order = pathOrder(paths);
  assert.deepEqual(Array.from(order), [1, 3, 5, 2, 0, 4]);
  assert.deepEqual([...pathGroups(paths, order)], [[0, 3], [3, 4], [4, 6]]);
  assert.deepEqual([...pathGroups([], pathOrder([]))], []);
});

test('resolveGroup: last wins within a part, first part kept across parts, conflicts named', () => {
  // entry → [part, text]
  const table = (rows) => ({ partOf: (e) => rows[e][0], same: (a, b) => rows[a][1] === rows[b][1] });
  let t = table([[0, 'x']]);
  assert.deepEqual(resolveGroup([0], t.partOf, t.same), { keep: 0, repeats: 0, superseded: 0, crossRepeats: 0, conflictParts: [] });
  // Resume's retry: failed, then ok, in one part.
  t = table([[0, 'failed'], [0, 'ok']]);
  assert.deepEqual(resolveGroup([0, 1], t.partOf, t.same), { keep: 1, repeats: 0, superseded: 1, crossRepeats: 0, conflictParts: [] });
  // Same record twice in one part.
  t = table([[2, 'x'], [2, 'x']]);
  assert.deepEqual(resolveGroup([0, 1], t.partOf, t.same), { keep: 1, repeats: 1, superseded: 0, crossRepeats: 0, conflictParts: [] });
  // Identical across parts: harmless overlap.
  t = table([[0, 'x'], [3, 'x']]);
  assert.deepEqual(resolveGroup([0, 1], t.partOf, t.same), { keep: 0, repeats: 0, superseded: 0, crossRepeats: 1, conflictParts: [] });
  // Different across parts: a conflict; part 1's record is compared by its LAST record (y2 = x).
  t = table([[0, 'x'], [1, 'y'], [1, 'x'], [2, 'z']]);
  assert.deepEqual(resolveGroup([0, 1, 2, 3], t.partOf, t.same), { keep: 0, repeats: 0, superseded: 1, crossRepeats: 1, conflictParts: [2] });
});

// --- runMerge ----------------------------------------------------------------------------------

test('merge: parts in input order → one file in path order, byte for byte', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(D, A), jsonl(C_OK, B), '', jsonl(E)]);
    const out = path.join(dir, 'merged.jsonl');
    const s = io();
    const r = await runMerge(opts(out, files), s.io);
    assert.equal(r.exitCode, 0);
    assert.equal(await readFile(out, 'utf8'), merged(B, E, A, C_OK, D));
    assert.equal(r.report.images, 5);
    assert.equal(s.stderr(), `yolo-serve merge: 5 images from 4 parts → ${out} (jsonl)\n`);
    // No temporary file left beside the output.
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  }));

test('merge: within one part the last record wins (a retried failure), silently for exit code', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(C_FAIL, A, C_OK), jsonl(B)]);
    const out = path.join(dir, 'merged.jsonl');
    const s = io();
    const r = await runMerge(opts(out, files), s.io);
    assert.equal(r.exitCode, 0);
    assert.equal(r.report.superseded, 1);
    assert.equal(await readFile(out, 'utf8'), merged(B, A, C_OK));
    assert.match(s.stderr(), /3 images from 2 parts .*\(jsonl\), 1 superseded by a later record in the same part\n$/);
  }));

test('merge: identical duplicates (across parts, or twice in one) are kept once, with a warning, exit 0', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(A, B, B), jsonl(A)]);
    const out = path.join(dir, 'merged.jsonl');
    const s = io();
    const r = await runMerge(opts(out, files), s.io);
    assert.equal(r.exitCode, 0);
    assert.equal(r.report.repeats, 2);
    assert.equal(await readFile(out, 'utf8'), merged(B, A));
    assert.match(s.stderr(), /warning: 2 duplicate records \(identical to one kept\) dropped/);
  }));

test('merge: different records for one image in two parts are a conflict: exit 1, first part kept', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(A, B), jsonl(C_OK), jsonl(A2)]);
    const out = path.join(dir, 'merged.jsonl');
    const s = io();
    const r = await runMerge(opts(out, files, { quiet: true }), s.io);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.report.conflicts, [{ path: '/d/a.jpg', parts: [files[0], files[2]] }]);
    assert.equal(await readFile(out, 'utf8'), merged(B, A, C_OK));
    // Errors are printed even with --quiet.
    assert.equal(
      s.stderr(),
      `yolo-serve merge: 1 image has different results in different parts (the first part's record was kept):\n  /d/a.jpg  (${files[0]}, ${files[2]})\n`,
    );
  }));

test('merge --inputs: images in no part are missing (exit 1, --missing-out manifest), extra ones are reported', () =>
  withDir(async (dir) => {
    const data = path.join(dir, 'd');
    await mkdir(path.join(data, 'sub'), { recursive: true });
    for (const f of ['a.jpg', 'B.jpg', 'c.jpg', 'sub/d.jpg', 'z.png', 'notes.txt']) await writeFile(path.join(data, f), '');
    const rec = (name) => `{"path":"${path.join(data, name)}","width":1,"height":1,"detections":[],"error":null}`;
    const files = await parts(dir, [jsonl(rec('c.jpg'), rec('a.jpg')), jsonl(rec('gone.jpg'), rec('sub/d.jpg'))]);
    const out = path.join(dir, 'merged.jsonl');
    const missingOut = path.join(dir, 'missing.txt');
    const s = io();
    const r = await runMerge(opts(out, files, { inputs: [data], missingOut }), s.io);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.report.missing, [path.join(data, 'B.jpg'), path.join(data, 'z.png')]);
    assert.deepEqual(r.report.extra, [path.join(data, 'gone.jpg')]);
    assert.equal(await readFile(missingOut, 'utf8'), `${path.join(data, 'B.jpg')}\n${path.join(data, 'z.png')}\n`);
    assert.equal(await readFile(out, 'utf8'), merged(rec('a.jpg'), rec('c.jpg'), rec('gone.jpg'), rec('sub/d.jpg')));
    const err = s.stderr();
    assert.match(err, new RegExp(`2 input images are in no part \\(listed in ${missingOut}\\):\\n  ${path.join(data, 'B.jpg')}\\n  ${path.join(data, 'z.png')}\\n`));
    assert.match(err, /warning: 1 image in the parts is not in --inputs \(kept\)/);
    assert.match(err, /4 images from 2 parts .*, 2 missing\n$/);

    // The follow-up run's manifest, merged in, makes the set complete.
    const more = await parts(path.join(dir, 'd', 'sub'), [jsonl(rec('z.png'), rec('B.jpg'))]);
    const r2 = await runMerge(opts(out, [...files, ...more], { inputs: [data], overwrite: true, quiet: true }), io().io);
    assert.equal(r2.exitCode, 0);
    assert.deepEqual(r2.report.missing, []);
  }));

test('merge: a part cut short (torn last line) is reported, its torn record skipped, exit 1', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(A) + B.slice(0, 20), jsonl(C_OK)]);
    const out = path.join(dir, 'merged.jsonl');
    const s = io();
    const r = await runMerge(opts(out, files), s.io);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.report.tornParts, [files[0]]);
    assert.equal(await readFile(out, 'utf8'), merged(A, C_OK));
    assert.match(s.stderr(), /part-0\.jsonl ends in an incomplete record \(was its run interrupted\?\); that record was skipped/);
  }));

test('merge CSV: rows regrouped per image (a failed row and its retry stay two records), path order, conversion to JSONL', () =>
  withDir(async (dir) => {
    const p0 =
      CSV_HEAD +
      '/d/sub/d.jpg,5,5,0,,,,,,,,\n' +
      '/d/c.jpg,,,0,,,,,,,,DECODE_FAILED: truncated\n' +
      '/d/c.jpg,8,6,1,0,cat,0.9,0,2,30,40,\n' +
      '"/d/a b.jpg",7,7,0,,,,,,,,\n';
    const p1 = CSV_HEAD + '/d/a.jpg,64,48,2,0,cat,0.5,1,2,30,40,\n/d/a.jpg,64,48,2,1,dog,0.25,3,2,30,40,\n/d/B.jpg,10,10,0,,,,,,,,\n';
    const files = await parts(dir, [p0, p1, CSV_HEAD], 'csv');
    const out = path.join(dir, 'merged.csv');
    const r = await runMerge(opts(out, files), io().io);
    assert.equal(r.exitCode, 0);
    assert.equal(r.report.superseded, 1, 'the failed c.jpg row is an older record, not part of the retry');
    assert.equal(
      await readFile(out, 'utf8'),
      HEAD_C +
        CSV_HEAD +
        '/d/B.jpg,10,10,0,,,,,,,,\n' +
        '/d/a b.jpg,7,7,0,,,,,,,,\n' +
        '/d/a.jpg,64,48,2,0,cat,0.5,1,2,30,40,\n/d/a.jpg,64,48,2,1,dog,0.25,3,2,30,40,\n' +
        '/d/c.jpg,8,6,1,0,cat,0.9,0,2,30,40,\n' +
        '/d/sub/d.jpg,5,5,0,,,,,,,,\n',
    );
    const asJsonl = path.join(dir, 'merged.jsonl');
    assert.equal((await runMerge(opts(asJsonl, files), io().io)).exitCode, 0);
    assert.equal(await readFile(asJsonl, 'utf8'), merged(B, E, A, C_OK, D));
  }));

test('merge: empty parts give an empty result; OUT may be one of the parts (written aside, then renamed)', () =>
  withDir(async (dir) => {
    const empties = await parts(dir, ['', CSV_HEAD], 'csv');
    const out = path.join(dir, 'm.csv');
    assert.equal((await runMerge(opts(out, empties), io().io)).exitCode, 0);
    assert.equal(await readFile(out, 'utf8'), HEAD_C + CSV_HEAD);

    const files = await parts(dir, [jsonl(D, A), jsonl(B)]);
    const r = await runMerge(opts(files[0], files, { overwrite: true }), io().io);
    assert.equal(r.exitCode, 0);
    assert.equal(await readFile(files[0], 'utf8'), merged(B, A, D));
  }));

test('merge usage errors: nothing written, UsageError (exit 2)', () =>
  withDir(async (dir) => {
    const [j] = await parts(dir, [jsonl(A)]);
    const c = path.join(dir, 'c.csv');
    await writeFile(c, HEAD_C + CSV_HEAD + '/d/B.jpg,10,10,0,,,,,,,,\n');
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, `${HEAD_J}${A}\n{"path": 1}\n`);
    const out = path.join(dir, 'out.jsonl');
    const rejects = (o, re) => assert.rejects(runMerge(o, io().io), (e) => e instanceof UsageError && re.test(e.message));
    await rejects(opts(out, [j, c]), /parts mix formats \(.*part-0\.jsonl is jsonl, .*c\.csv is csv\)/);
    await rejects(opts(out, [j, path.join(dir, 'nope.jsonl')]), /part not found: .*nope\.jsonl/);
    await rejects(opts(out, [j, bad]), /cannot merge: .*bad\.jsonl line 3: not a result record/);
    await rejects(opts(out, [j], { missingOut: 'm.txt' }), /--missing-out needs --inputs/);
    await rejects(opts(out, [j], { summaries: ['s.json'] }), /--summaries and --summary-out go together/);
    await assert.rejects(readFile(out), { code: 'ENOENT' });
    await writeFile(out, 'x');
    await rejects(opts(out, [j]), /already exists; pass --overwrite/);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  }));

test('CLI: merge exit codes 0 / 1 / 2 and - for stdout', () =>
  withDir(async (dir) => {
    const files = await parts(dir, [jsonl(C_OK, A), jsonl(B)]);
    const ok = await runCli(['merge', '-', ...files]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, merged(B, A, C_OK));
    const conflict = await parts(path.join(dir), [jsonl(A), jsonl(A2)]);
    const c = await runCli(['merge', path.join(dir, 'c.jsonl'), ...conflict, '-q']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /1 image has different results/);
    // (A missing OUT/PART argument is commander's usage error: exit 2 once every subcommand
    // has exitOverride — see program.ts main.)
    const csv = path.join(dir, 'x.csv');
    await writeFile(csv, HEAD_C + CSV_HEAD);
    const usage = await runCli(['merge', path.join(dir, 'u.jsonl'), ...files, csv]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^yolo-serve: parts mix formats/);
    const inputs = await runCli(['merge', path.join(dir, 'i.jsonl'), ...conflict, '--inputs', path.join(dir, 'missing-dir')]);
    assert.equal(inputs.code, 2);
    assert.match(inputs.stderr, /no such file or directory: .*missing-dir/);
  }));

test('merge --summaries: merged shard summaries count what one unsharded run counts (or, without the summary module, a clear usage error)', async (t) => {
  await withDir(async (dir) => {
    const model = writeSyntheticModel(path.join(dir, 'm.onnx'));
    const images = path.join(dir, 'images');
    await writeImages(images, 24);
    await writeFile(path.join(images, 'notes.txt'), 'not an image'); // skipped by every shard
    const flags = {
      device: 'cpu', batch: 'auto', workers: '1', threads: '1', conf: '0.25', iou: '0.7', maxDet: '300',
      recursive: true, pathColumn: 'path', maxPixels: '268402689', annotateQuality: '95', progress: false, progressInterval: '10', quiet: true, model,
    };
    const run = (out, summary, shard) =>
      runBatch(toRunConfig([images], { ...flags, out, summary, shard }, {}), { stdin: new PassThrough(), stderr: new PassThrough() });
    const parts = [];
    const summaries = [];
    for (let i = 0; i < 3; i++) {
      parts.push(path.join(dir, `part-${i}.jsonl`));
      summaries.push(path.join(dir, `part-${i}.json`));
      await run(parts[i], summaries[i], `${i}/3`);
    }
    const merged = path.join(dir, 'merged.json');
    const o = opts(path.join(dir, 'merged.jsonl'), parts, { summaries, summaryOut: merged, quiet: true });
    await run(path.join(dir, 'full.jsonl'), path.join(dir, 'full.json'));
    const r = await runMerge(o, io().io);
    assert.equal(r.exitCode, 0);
    const one = JSON.parse(await readFile(path.join(dir, 'full.json'), 'utf8'));
    const all = JSON.parse(await readFile(merged, 'utf8'));
    assert.equal(one.images.total, 25);
    assert.equal(one.images.skipped, 1);
    assert.deepEqual(all.images, one.images);
    assert.deepEqual(all.failures, one.failures);
    assert.deepEqual(all.detections, one.detections);
    assert.equal(all.latency_ms.end_to_end.count, one.latency_ms.end_to_end.count);
  });
});
