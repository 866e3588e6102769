// End-to-end: the real CLI (node bin/yolo-serve) as a subprocess, on real models from
// ../shared/models and a dozen real images, checking what lands in the JSONL/CSV output and the
// exit codes. Runs are kept small (14 images per model) so the file takes seconds, not minutes.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { COCO80 } from '../dist/model/names.js';
import { coco128Dir, errorLines, modelsDir, parseCsv, parseJsonl, requireShared, resultsHeader, runCli, samplesDir, sharedDir } from './helpers/cli.js';

const haveShared = fs.existsSync(sharedDir);
let tmp;
const tmpPath = (name) => path.join(tmp, name);
const model = (name) => path.join(modelsDir, name);
const sample = (name) => path.join(samplesDir, name);
const coco = (name) => path.join(coco128Dir, name);

/**
 * The good images of every model run, in the (deliberately unsorted) order given on the command
 * line, with their upright sizes. Grayscale, progressive, EXIF-rotated, PNG and portrait images.
 */
let GOOD;
/** Minimum count per class name each model must find; `{}` with exact means no detections. */
const PLAUSIBLE = {
  'bus.jpg': { bus: 1, person: 3 },
  'zidane.jpg': { person: 2 },
  'image3.jpg': { horse: 1 },
  'horses.jpg': { horse: 4 },
  'giraffe.jpg': { giraffe: 1 },
  'dog.jpg': { dog: 1, bicycle: 1 },
  '000000000025.jpg': { giraffe: 1 },
  '000000000086.jpg': { person: 1 },
  'rotated.jpg': { person: 1 },
  'upright.png': { person: 1 },
};

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-cli-'));
  if (!haveShared) return;
  // image2.jpg (640×480) re-encoded with EXIF orientation 6: stored 640×480, upright 480×640.
  await sharp(sample('image2.jpg')).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toFile(tmpPath('rotated.jpg'));
  // The same upright pixels without EXIF, losslessly: detections must be identical.
  await sharp(tmpPath('rotated.jpg')).rotate().png().toFile(tmpPath('upright.png'));
  // Letterbox-grey everywhere: nothing to detect.
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 114, g: 114, b: 114 } } }).png().toFile(tmpPath('blank.png'));

  // Bad inputs: each must become an error record, never a crash.
  fs.writeFileSync(tmpPath('zero.jpg'), '');
  fs.writeFileSync(tmpPath('text.jpg'), 'this is a text file, not a JPEG\n');
  const bus = fs.readFileSync(sample('bus.jpg'));
  fs.writeFileSync(tmpPath('truncated.jpg'), bus.subarray(0, Math.floor(bus.length * 0.3)));
  const corrupt = Buffer.alloc(4096, 0);
  for (let i = 0; i < corrupt.length; i++) corrupt[i] = (i * 37 + 11) & 255;
  corrupt.set([0xff, 0xd8, 0xff, 0xdb]); // a JPEG start, then a garbage quantisation table
  fs.writeFileSync(tmpPath('corrupt.jpg'), corrupt);
  fs.writeFileSync(tmpPath('notes.md'), '# not an image\n');

  GOOD = [
    { file: sample('bus.jpg'), w: 810, h: 1080 },
    { file: sample('zidane.jpg'), w: 1280, h: 720 },
    { file: coco('000000000086.jpg'), w: 512, h: 640 }, // single-channel grayscale
    { file: sample('image3.jpg'), w: 431, h: 640 },
    { file: tmpPath('rotated.jpg'), w: 480, h: 640 },
    { file: sample('messi.jpg'), w: 968, h: 630 }, // progressive JPEG
    { file: sample('horses.jpg'), w: 773, h: 512 },
    { file: coco('000000000009.jpg'), w: 640, h: 480 },
    { file: sample('giraffe.jpg'), w: 500, h: 500 },
    { file: tmpPath('blank.png'), w: 320, h: 240 },
    { file: sample('dog.jpg'), w: 768, h: 576 },
    { file: coco('000000000025.jpg'), w: 640, h: 426 },
    { file: tmpPath('upright.png'), w: 480, h: 640 },
    { file: sample('scream.jpg'), w: 352, h: 448 },
  ];
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const JSONL_KEYS = ['path', 'width', 'height', 'detections', 'error'];
const DETECTION_KEYS = ['name', 'class', 'confidence', 'box'];
const BOX_KEYS = ['x1', 'y1', 'x2', 'y2'];
const CSV_HEADER = ['path', 'width', 'height', 'detections', 'class', 'name', 'confidence', 'x1', 'y1', 'x2', 'y2', 'error'];

const hasDecimals = (v, n) => Math.abs(v * 10 ** n - Math.round(v * 10 ** n)) < 1e-6;

/** Groups CSV rows (header first) back into one record per image, in file order. */
function csvToRecords(rows) {
  assert.deepEqual(rows[0], CSV_HEADER);
  const records = [];
  for (const row of rows.slice(1)) {
    assert.equal(row.length, CSV_HEADER.length, `row has ${row.length} fields: ${row.join(',')}`);
    const [p, width, height, count, cls, name, conf, x1, y1, x2, y2, error] = row;
    let rec = records[records.length - 1];
    if (!rec || rec.path !== p) {
      rec = { path: p, width: width === '' ? null : Number(width), height: height === '' ? null : Number(height), detections: [], error: null, rows: 0 };
      records.push(rec);
    }
    rec.rows++;
    rec.count = Number(count);
    if (error !== '') {
      const at = error.indexOf(': ');
      rec.error = { code: error.slice(0, at), message: error.slice(at + 2) };
      assert.deepEqual([width, height, cls, name, conf, x1, y1, x2, y2], ['', '', '', '', '', '', '', '', ''], 'an error row has only path and error');
    } else if (cls === '') {
      assert.deepEqual([name, conf, x1, y1, x2, y2], ['', '', '', '', '', ''], 'a no-detection row has empty detection columns');
    } else {
      rec.detections.push({ name, class: Number(cls), confidence: Number(conf), box: { x1: Number(x1), y1: Number(y1), x2: Number(x2), y2: Number(y2) } });
    }
  }
  for (const r of records) {
    // No image disappears, and an image is either one error row, one empty row or one row per detection.
    assert.equal(r.rows, r.error ? 1 : Math.max(1, r.detections.length), `${r.path}: ${r.rows} rows`);
    assert.equal(r.count, r.detections.length, `${r.path}: every row carries the image's detection count`);
    delete r.rows;
    delete r.count;
  }
  return records;
}

/** Schema, order, sizes, box sanity and plausibility of one model's records for GOOD. */
function checkGoodRecords(records, { jsonl }) {
  assert.equal(records.length, GOOD.length, 'one record per input');
  records.forEach((r, i) => {
    const want = GOOD[i];
    const label = path.basename(want.file);
    assert.equal(r.path, path.resolve(want.file), `record ${i} is input ${i}`);
    if (jsonl) assert.deepEqual(Object.keys(r), JSONL_KEYS, `${label}: key order`);
    assert.equal(r.error, null, `${label}: ${JSON.stringify(r.error)}`);
    assert.deepEqual([r.width, r.height], [want.w, want.h], `${label}: upright size`);
    assert.ok(r.detections.length <= 300);
    let prevConf = Infinity;
    for (const d of r.detections) {
      if (jsonl) {
        assert.deepEqual(Object.keys(d), DETECTION_KEYS);
        assert.deepEqual(Object.keys(d.box), BOX_KEYS);
      }
      assert.ok(Number.isInteger(d.class) && d.class >= 0 && d.class < 80, `${label}: class ${d.class}`);
      assert.equal(d.name, COCO80[d.class]);
      assert.ok(d.confidence > 0.25 && d.confidence <= 1, `${label}: confidence ${d.confidence}`);
      assert.ok(d.confidence <= prevConf, `${label}: detections sorted by confidence`);
      prevConf = d.confidence;
      assert.ok(hasDecimals(d.confidence, 5), `${label}: confidence ${d.confidence} has more than 5 decimals`);
      const { x1, y1, x2, y2 } = d.box;
      for (const v of [x1, y1, x2, y2]) assert.ok(hasDecimals(v, 2), `${label}: coordinate ${v} has more than 2 decimals`);
      assert.ok(0 <= x1 && x1 <= x2 && x2 <= r.width, `${label}: x ${x1}..${x2} outside 0..${r.width}`);
      assert.ok(0 <= y1 && y1 <= y2 && y2 <= r.height, `${label}: y ${y1}..${y2} outside 0..${r.height}`);
    }
    const counts = {};
    for (const d of r.detections) counts[d.name] = (counts[d.name] ?? 0) + 1;
    for (const [name, min] of Object.entries(PLAUSIBLE[label] ?? {})) {
      assert.ok((counts[name] ?? 0) >= min, `${label}: expected at least ${min} ${name}, got ${JSON.stringify(counts)}`);
    }
  });
  const byName = Object.fromEntries(records.map((r) => [path.basename(r.path), r]));
  assert.deepEqual(byName['blank.png'].detections, [], 'a uniform grey image has no detections');
  // The bus fills most of bus.jpg's width.
  const bus = byName['bus.jpg'].detections.filter((d) => d.name === 'bus');
  assert.ok(Math.max(...bus.map((d) => d.box.x2 - d.box.x1)) > 0.6 * 810, 'bus box spans the bus');
  // EXIF orientation applied: the rotated JPEG gives exactly the upright PNG's boxes.
  assert.deepEqual(byName['rotated.jpg'].detections, byName['upright.png'].detections);
}

/** Records from a run's JSONL output (file or stdout). */
function jsonlRecords(run, outFile) {
  return parseJsonl(outFile ? fs.readFileSync(outFile, 'utf8') : run.stdout);
}

function assertExit(run, code) {
  assert.equal(run.code, code, `exit code ${run.code}, stderr:\n${run.stderr}`);
}

const results = {};

// -------------------------------------------------------------------------------------------
describe('real models on real images', () => {
  test('yolov8n_int8_640 ([1,84,8400]): JSONL file, exit 0', async (t) => {
    if (!requireShared(t)) return;
    const out = tmpPath('v8.jsonl');
    const run = await runCli(['batch', ...GOOD.map((g) => g.file), '--model', model('yolov8n_int8_640.onnx'), '--out', out]);
    assertExit(run, 0);
    assert.equal(run.stdout, '', 'nothing on stdout when writing a file');
    assert.match(run.stderr, /14 images \(14 ok, 0 failed\)/);
    results.v8 = jsonlRecords(run, out);
    checkGoodRecords(results.v8, { jsonl: true });
  });

  test('yolo11n_int8_320 ([1,84,2100]): paths from stdin (-), JSONL to stdout', async (t) => {
    if (!requireShared(t)) return;
    const stdin = GOOD.map((g) => g.file).join('\n') + '\n';
    const run = await runCli(['batch', '-', '--model', model('yolo11n_int8_320.onnx'), '--out', '-'], { stdin });
    assertExit(run, 0);
    checkGoodRecords(jsonlRecords(run), { jsonl: true });
    assert.doesNotMatch(run.stderr, /ignored/);
  });

  test('yolov5n_fp16_dynbatch_640 ([B,25200,85] fp16): --batch 3 with a partial last batch equals --batch 1', async (t) => {
    if (!requireShared(t)) return;
    const args = ['batch', ...GOOD.map((g) => g.file), '--model', model('yolov5n_fp16_dynbatch_640.onnx')];
    const run3 = await runCli([...args, '--batch', '3', '--out', tmpPath('v5-b3.jsonl')]);
    assertExit(run3, 0);
    assert.match(run3.stderr, /batch 3\)/, 'the summary reports batches of 3');
    assert.doesNotMatch(run3.stderr, /ignored/);
    const batched = jsonlRecords(run3, tmpPath('v5-b3.jsonl'));
    checkGoodRecords(batched, { jsonl: true });

    // 14 = 3+3+3+3+2. Images from the first two batches and the partial last one, one at a
    // time: batching must not move a detection to another image or change it (beyond rounding
    // differences between batched and single convolution kernels).
    const picks = [0, 1, 4, 12, 13];
    const run1 = await runCli(['batch', ...picks.map((i) => GOOD[i].file), '--model', model('yolov5n_fp16_dynbatch_640.onnx'), '--batch', '1', '--out', tmpPath('v5-b1.jsonl')]);
    assertExit(run1, 0);
    const single = jsonlRecords(run1, tmpPath('v5-b1.jsonl'));
    single.forEach((s, k) => {
      const b = batched[picks[k]];
      assert.equal(b.path, s.path);
      assert.equal(b.detections.length, s.detections.length, `${s.path}: detection count`);
      b.detections.forEach((d, j) => {
        const e = s.detections[j];
        assert.equal(d.class, e.class);
        assert.ok(Math.abs(d.confidence - e.confidence) < 2e-3, `${s.path}: conf ${d.confidence} vs ${e.confidence}`);
        for (const k of BOX_KEYS) assert.ok(Math.abs(d.box[k] - e.box[k]) < 1, `${s.path}: ${k} ${d.box[k]} vs ${e.box[k]}`);
      });
    });
  });

  test('yolo26n_int8_e2e_640 ([1,300,6] end-to-end): JSONL, exit 0', async (t) => {
    if (!requireShared(t)) return;
    const out = tmpPath('y26.jsonl');
    const run = await runCli(['batch', ...GOOD.map((g) => g.file), '--model', model('yolo26n_int8_e2e_640.onnx'), '--out', out]);
    assertExit(run, 0);
    results.y26 = jsonlRecords(run, out);
    checkGoodRecords(results.y26, { jsonl: true });
  });

  test('yolov5n_int8_640_multiout (4 outputs, detections in output 0): CSV to stdout; --batch ignored with a note', async (t) => {
    if (!requireShared(t)) return;
    const run = await runCli(['batch', ...GOOD.map((g) => g.file), '--model', model('yolov5n_int8_640_multiout.onnx'), '--out', '-', '--format', 'csv', '--batch', '3']);
    assertExit(run, 0);
    assert.match(run.stderr, /fixed batch of 1; --batch 3 ignored/);
    checkGoodRecords(csvToRecords(parseCsv(run.stdout)), { jsonl: false });
  });
});

// -------------------------------------------------------------------------------------------
describe('failed images and CSV', () => {
  test('corrupt, zero-byte, text-named-.jpg, truncated and unsupported inputs become error records; exit 1', async (t) => {
    if (!requireShared(t)) return;
    assert.ok(results.v8, 'needs the yolov8n run above');
    const inputs = ['bus.jpg', 'zero.jpg', 'text.jpg', 'truncated.jpg', 'corrupt.jpg', 'notes.md', 'zidane.jpg'].map((n) => (n.endsWith('.jpg') && fs.existsSync(sample(n)) ? sample(n) : tmpPath(n)));
    const run = await runCli(['batch', ...inputs, '--model', model('yolov8n_int8_640.onnx'), '--out', '-']);
    assertExit(run, 1);
    assert.match(run.stderr, /7 images \(2 ok, 5 failed\)/);
    const records = jsonlRecords(run);
    assert.deepEqual(records.map((r) => r.path), inputs);
    const codes = records.map((r) => r.error?.code ?? null);
    assert.deepEqual(codes, [null, 'EMPTY_FILE', 'DECODE_FAILED', 'DECODE_FAILED', 'DECODE_FAILED', 'UNSUPPORTED_TYPE', null]);
    for (const r of records.filter((x) => x.error)) {
      assert.deepEqual(Object.keys(r), JSONL_KEYS);
      assert.deepEqual(Object.keys(r.error), ['code', 'message']);
      assert.equal(r.width, null);
      assert.equal(r.height, null);
      assert.deepEqual(r.detections, []);
      assert.ok(r.error.message.length > 0 && !r.error.message.includes('\n'), `one-line message: ${JSON.stringify(r.error.message)}`);
      if (r.error.code !== 'UNSUPPORTED_TYPE') assert.ok(r.error.message.includes(r.path), `message names the file: ${r.error.message}`);
    }
    // A bad neighbour does not disturb the good images.
    const v8 = Object.fromEntries(results.v8.map((r) => [r.path, r]));
    assert.deepEqual(records[0], v8[inputs[0]]);
    assert.deepEqual(records[6], v8[inputs[6]]);
  });

  test('--format csv with a .txt name: header, one row per detection, empty and error rows; same values as JSONL', async (t) => {
    if (!requireShared(t)) return;
    assert.ok(results.v8, 'needs the yolov8n run above');
    const out = tmpPath('results.txt');
    const inputs = [...GOOD.map((g) => g.file), tmpPath('truncated.jpg'), tmpPath('zero.jpg')];
    const run = await runCli(['batch', ...inputs, '--model', model('yolov8n_int8_640.onnx'), '--out', out, '--format', 'csv']);
    assertExit(run, 1);
    const text = fs.readFileSync(out, 'utf8');
    assert.ok(resultsHeader(text), 'the first line is the provenance header');
    const rows = parseCsv(text);
    assert.equal(text.split('\n').length - 2, rows.length, 'no field spans lines');
    const records = csvToRecords(rows);
    assert.deepEqual(records.map((r) => r.path), inputs);
    assert.deepEqual(records.slice(0, GOOD.length), results.v8, 'CSV carries exactly the JSONL values');
    const [trunc, zero] = records.slice(GOOD.length);
    assert.equal(trunc.error.code, 'DECODE_FAILED');
    assert.equal(zero.error.code, 'EMPTY_FILE');
    // Images without detections still get their row.
    assert.ok(rows.some((r) => r[0] === tmpPath('blank.png') && r[1] === '320' && r[2] === '240' && r[3] === '0' && r[4] === ''));
  });
});

// -------------------------------------------------------------------------------------------
describe('options', () => {
  test('--classes, --conf and --max-det filter exactly as a post-filter of the default run would', async (t) => {
    if (!requireShared(t)) return;
    assert.ok(results.v8, 'needs the yolov8n run above');
    const inputs = [sample('bus.jpg'), sample('zidane.jpg')];
    const run = await runCli(['batch', ...inputs, '--model', model('yolov8n_int8_640.onnx'), '--out', '-', '--classes', '0', '--conf', '0.5', '--max-det', '2']);
    assertExit(run, 0);
    const records = jsonlRecords(run);
    const v8 = Object.fromEntries(results.v8.map((r) => [r.path, r]));
    for (const r of records) {
      // Class-aware NMS never lets another class suppress a person, and a higher threshold only
      // removes low-scoring boxes, which suppress nothing above it: the result is a filter.
      const want = v8[r.path].detections.filter((d) => d.class === 0 && d.confidence > 0.5).slice(0, 2);
      assert.equal(want.length, 2, 'the test images have at least two confident persons');
      assert.deepEqual(r.detections, want);
    }
  });

  test('end-to-end model: --classes keeps only that class', async (t) => {
    if (!requireShared(t)) return;
    assert.ok(results.y26, 'needs the yolo26 run above');
    const run = await runCli(['batch', sample('bus.jpg'), '--model', model('yolo26n_int8_e2e_640.onnx'), '--out', '-', '--classes', '5']);
    assertExit(run, 0);
    const [r] = jsonlRecords(run);
    const want = results.y26.find((x) => x.path === sample('bus.jpg')).detections.filter((d) => d.class === 5);
    assert.equal(want.length, 1);
    assert.deepEqual(r.detections, want);
  });

  test('YOLO_SERVE_MODEL instead of --model, and --names overrides the class names', async (t) => {
    if (!requireShared(t)) return;
    assert.ok(results.v8, 'needs the yolov8n run above');
    const names = tmpPath('names.txt');
    fs.writeFileSync(names, COCO80.map((_, i) => `thing-${i}`).join('\n') + '\n');
    const run = await runCli(['batch', sample('bus.jpg'), '--names', names, '--out', '-'], { env: { YOLO_SERVE_MODEL: model('yolov8n_int8_640.onnx') } });
    assertExit(run, 0);
    const [r] = jsonlRecords(run);
    const want = results.v8.find((x) => x.path === sample('bus.jpg')).detections.map((d) => ({ ...d, name: `thing-${d.class}` }));
    assert.deepEqual(r.detections, want);
  });
});

// -------------------------------------------------------------------------------------------
describe('usage, model and input errors: exit 2, one line, no stack trace, no output file', () => {
  /** Runs, expects exit 2 with one error line matching every regexp, and no output written. */
  async function expectUsageError(args, patterns, opts = {}) {
    const out = tmpPath(`never-${Math.random().toString(36).slice(2)}.jsonl`);
    const run = await runCli(['batch', ...args, ...(opts.noOut ? [] : ['--out', out])], opts);
    assertExit(run, 2);
    assert.equal(run.stdout, '');
    const lines = errorLines(run.stderr);
    assert.equal(lines.length, opts.lines ?? 1, `expected ${opts.lines ?? 1} error line(s):\n${run.stderr}`);
    for (const re of patterns) assert.match(lines.join('\n'), re);
    assert.equal(fs.existsSync(out), false, 'no output file is created');
    return run;
  }

  test('missing model file', async (t) => {
    if (!requireShared(t)) return;
    const missing = tmpPath('no-such-model.onnx');
    await expectUsageError([sample('bus.jpg'), '--model', missing], [/not found/, new RegExp(escape(missing))]);
  });

  test('a JPEG passed as --model', async (t) => {
    if (!requireShared(t)) return;
    await expectUsageError([sample('bus.jpg'), '--model', sample('zidane.jpg')], [/not an ONNX model/, new RegExp(escape(sample('zidane.jpg')))]);
  });

  test('no model at all', async (t) => {
    if (!requireShared(t)) return;
    await expectUsageError([sample('bus.jpg')], [/--model/, /YOLO_SERVE_MODEL/]);
  });

  test('inputs that match nothing: each is named', async (t) => {
    if (!requireShared(t)) return;
    const emptyDir = tmpPath('empty');
    fs.mkdirSync(emptyDir, { recursive: true });
    const glob = `${emptyDir}/*.png`;
    const missing = tmpPath('missing.jpg');
    await expectUsageError([glob, missing, '--model', model('yolov8n_int8_640.onnx')], [new RegExp(escape(glob)), new RegExp(escape(missing))], { lines: 2 });
  });

  test('unknown flag values and unknown flags', async (t) => {
    if (!requireShared(t)) return;
    const base = [sample('bus.jpg'), '--model', model('yolov8n_int8_640.onnx')];
    await expectUsageError([...base, '--format', 'xml'], [/'xml'/, /jsonl, csv/]);
    await expectUsageError([...base, '--device', 'gpu'], [/--device/, /'gpu'/]);
    await expectUsageError([...base, '--conf', '1.5'], [/--conf must be at most 1/]);
    await expectUsageError([...base, '--batch', 'many'], [/--batch must be an integer, got 'many'/]);
    await expectUsageError([...base, '--frobnicate'], [/unknown option '--frobnicate'/]);
    await expectUsageError([...base, '--out', tmpPath('results.xml')], [/cannot tell the output format/, /results\.xml/], { noOut: true });
  });

  test('a names file with the wrong number of names', async (t) => {
    if (!requireShared(t)) return;
    const names = tmpPath('three-names.txt');
    fs.writeFileSync(names, 'a\nb\nc\n');
    await expectUsageError([sample('bus.jpg'), '--model', model('yolov8n_int8_640.onnx'), '--names', names], [new RegExp(escape(names)), /3 names/, /80 classes/]);
  });

  test('an existing output is kept unless --overwrite', async (t) => {
    if (!requireShared(t)) return;
    const out = tmpPath('existing.jsonl');
    fs.writeFileSync(out, 'earlier results\n');
    const args = ['batch', sample('bus.jpg'), '--model', model('yolov8n_int8_640.onnx'), '--out', out];
    const refused = await runCli(args);
    assertExit(refused, 2);
    const lines = errorLines(refused.stderr);
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(lines[0], new RegExp(`${escape(out)} already exists.*--overwrite`));
    assert.equal(fs.readFileSync(out, 'utf8'), 'earlier results\n');

    const replaced = await runCli([...args, '--overwrite']);
    assertExit(replaced, 0);
    const [r] = parseJsonl(fs.readFileSync(out, 'utf8'));
    assert.equal(r.path, sample('bus.jpg'));
  });
});

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
