import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PassThrough, Writable } from 'node:stream';
import {
  formatJsonlLine, formatCsvRows, CSV_HEADER, openSink, formatFromPath,
  readJsonlResults, readCsvResults, scanResults,
} from '../dist/outputs/index.js';
import { parseCsv } from '../dist/inputs/csv-parse.js';

const TRICKY = '/data/a,b "quoted"\nline é 猫.jpg';

const OK = {
  index: 7,
  path: TRICKY,
  width: 640,
  height: 480,
  detections: [
    { name: 'person', class: 0, confidence: 0.91234, box: { x1: 1.5, y1: 2, x2: 300.25, y2: 400 } },
    { class: 16, name: 'dog', box: { y2: 8, x2: 7, y1: 6, x1: 5 }, confidence: 0.5, extra: 'dropped' },
  ],
  error: null,
};
const EMPTY = { index: 8, path: '/data/empty.png', width: 10, height: 20, detections: [], error: null };
const FAILED = {
  index: 9,
  path: '/data/bad, "one".jpg',
  width: null,
  height: null,
  detections: [],
  error: { code: 'DECODE_FAILED', message: 'Input buffer contains unsupported image format' },
};

const stored = ({ index, ...rest }) => ({
  ...rest,
  detections: rest.detections.map((d) => ({ name: d.name, class: d.class, confidence: d.confidence, box: { ...d.box } })),
});

async function tempDir() {
  return mkdtemp(path.join(tmpdir(), 'yolo-outputs-'));
}

async function collect(gen) {
  const out = [];
  for await (const r of gen) out.push(r);
  return out;
}

test('formatJsonlLine: exact key order, no index, errors as objects', () => {
  assert.equal(
    formatJsonlLine(OK),
    '{"path":"/data/a,b \\"quoted\\"\\nline é 猫.jpg","width":640,"height":480,"detections":[' +
      '{"name":"person","class":0,"confidence":0.91234,"box":{"x1":1.5,"y1":2,"x2":300.25,"y2":400}},' +
      '{"name":"dog","class":16,"confidence":0.5,"box":{"x1":5,"y1":6,"x2":7,"y2":8}}],"error":null}',
  );
  assert.equal(
    formatJsonlLine(FAILED),
    '{"path":"/data/bad, \\"one\\".jpg","width":null,"height":null,"detections":[],' +
      '"error":{"code":"DECODE_FAILED","message":"Input buffer contains unsupported image format"}}',
  );
  assert.equal(
    formatJsonlLine(EMPTY),
    '{"path":"/data/empty.png","width":10,"height":20,"detections":[],"error":null}',
  );
});

test('formatCsvRows: exact text for ok, empty and failed images; parses back', () => {
  assert.equal(CSV_HEADER, 'path,width,height,detections,class,name,confidence,x1,y1,x2,y2,error\n');
  const okText = formatCsvRows(OK);
  // Every row of an image carries its detection count, so a record cut short is recognisable.
  assert.equal(
    okText,
    '"/data/a,b ""quoted""\nline é 猫.jpg",640,480,2,0,person,0.91234,1.5,2,300.25,400,\n' +
      '"/data/a,b ""quoted""\nline é 猫.jpg",640,480,2,16,dog,0.5,5,6,7,8,\n',
  );
  assert.equal(formatCsvRows(EMPTY), '/data/empty.png,10,20,0,,,,,,,,\n');
  assert.equal(
    formatCsvRows(FAILED),
    '"/data/bad, ""one"".jpg",,,0,,,,,,,,DECODE_FAILED: Input buffer contains unsupported image format\n',
  );
  // A field holding '#' is quoted: no row can pass for the '#' header line (pandas comment='#').
  assert.equal(formatCsvRows({ ...EMPTY, path: '/data/#1.png' }), '"/data/#1.png",10,20,0,,,,,,,,\n');
  const rows = parseCsv(CSV_HEADER + okText + formatCsvRows(EMPTY) + formatCsvRows(FAILED)).map((r) => r.fields);
  assert.deepEqual(rows, [
    ['path', 'width', 'height', 'detections', 'class', 'name', 'confidence', 'x1', 'y1', 'x2', 'y2', 'error'],
    [TRICKY, '640', '480', '2', '0', 'person', '0.91234', '1.5', '2', '300.25', '400', ''],
    [TRICKY, '640', '480', '2', '16', 'dog', '0.5', '5', '6', '7', '8', ''],
    ['/data/empty.png', '10', '20', '0', '', '', '', '', '', '', '', ''],
    [FAILED.path, '', '', '0', '', '', '', '', '', '', '', 'DECODE_FAILED: Input buffer contains unsupported image format'],
  ]);
});

test('formatFromPath', () => {
  assert.equal(formatFromPath('r.jsonl'), 'jsonl');
  assert.equal(formatFromPath('R.NDJSON'), 'jsonl');
  assert.equal(formatFromPath('/x/r.Csv'), 'csv');
  assert.equal(formatFromPath('r.json'), null);
  assert.equal(formatFromPath('results'), null);
  assert.equal(formatFromPath('-'), null);
});

for (const format of ['jsonl', 'csv']) {
  test(`${format} sink: streams to a file and reads back`, async () => {
    const dir = await tempDir();
    const file = path.join(dir, `r.${format}`);
    const sink = await openSink(file, format);
    assert.equal(sink.format, format);
    const many = Array.from({ length: 3000 }, (_, i) => ({ ...OK, index: i, path: `/img/${i}.jpg` }));
    for (const r of [OK, EMPTY, FAILED, ...many]) await sink.write(r);
    await sink.close();
    await sink.close(); // idempotent
    await assert.rejects(sink.write(OK), /already closed/);

    const text = await readFile(file, 'utf8');
    const expected =
      format === 'csv'
        ? CSV_HEADER + [OK, EMPTY, FAILED, ...many].map((r) => formatCsvRows(r)).join('')
        : [OK, EMPTY, FAILED, ...many].map((r) => formatJsonlLine(r) + '\n').join('');
    assert.equal(text, expected);

    const back = await collect(format === 'csv' ? readCsvResults(file) : readJsonlResults(file));
    assert.equal(back.length, 3003);
    assert.deepEqual(back.slice(0, 4), [stored(OK), stored(EMPTY), stored(FAILED), stored(many[0])]);
    assert.deepEqual(await scanResults(file, format), {
      results: 3003,
      tornTail: false,
      validBytes: Buffer.byteLength(text),
      header: null,
    });
    await rm(dir, { recursive: true });
  });
}

test('csv sink: append writes the header only into an empty file', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'r.csv');
  let sink = await openSink(file, 'csv', { append: true });
  await sink.write(EMPTY);
  await sink.close();
  sink = await openSink(file, 'csv', { append: true });
  await sink.write(FAILED);
  await sink.close();
  assert.equal(await readFile(file, 'utf8'), CSV_HEADER + formatCsvRows(EMPTY) + formatCsvRows(FAILED));
  await rm(dir, { recursive: true });
});

test('sink waits for drain: the stream buffer never grows past its high-water mark', async () => {
  let received = '';
  const slow = new Writable({
    highWaterMark: 256,
    write(chunk, _enc, cb) {
      received += chunk.toString();
      setImmediate(cb);
    },
  });
  const sink = await openSink('-', 'jsonl', { stdout: slow });
  let waited = 0;
  for (let i = 0; i < 200; i++) {
    await sink.write({ ...EMPTY, path: `/p/${i}.png` });
    assert.ok(slow.writableLength < 256, `buffered ${slow.writableLength} bytes`);
    if (slow.writableLength === 0) waited++;
  }
  await sink.close();
  assert.ok(waited > 10, 'drain was never awaited');
  assert.equal(received.split('\n').length, 201);
  assert.equal(slow.writableEnded, false);
});

test('stdout sink is flushed, not closed', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = await openSink('-', 'csv', { stdout: out });
  await sink.write(EMPTY);
  await sink.close();
  assert.equal(out.writableEnded, false);
  out.write('after\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(text, CSV_HEADER + formatCsvRows(EMPTY) + 'after\n');
});

test('stdout sink with the real process.stdout leaves it usable', async () => {
  const url = new URL('../dist/outputs/index.js', import.meta.url).href;
  const script = `
    const { openSink } = await import(${JSON.stringify(url)});
    const sink = await openSink('-', 'jsonl');
    await sink.write(${JSON.stringify(EMPTY)});
    await sink.close();
    process.stdout.write('still open\\n');`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(stdout, formatJsonlLine(EMPTY) + '\nstill open\n');
});

test('a failing write (ENOSPC on /dev/full) rejects with the path and reason', async (t) => {
  try {
    await access('/dev/full');
  } catch {
    t.skip('/dev/full not available on this platform');
    return;
  }
  const sink = await openSink('/dev/full', 'jsonl');
  // The failure surfaces asynchronously; a later write() must reject rather than drop lines.
  let rejection = null;
  for (let i = 0; i < 200 && !rejection; i++) {
    await sink.write(OK).catch((err) => (rejection = err));
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(rejection, 'no write() ever rejected');
  assert.match(rejection.message, /^cannot write results to \/dev\/full: ENOSPC/);
  await assert.rejects(sink.close(), /cannot write results to \/dev\/full: ENOSPC/);

  // A single write that fails only while flushing is reported by close().
  const sink2 = await openSink('/dev/full', 'csv');
  await sink2.write(OK).catch(() => {});
  await assert.rejects(sink2.close(), /\/dev\/full: ENOSPC/);
});

test('opening an unwritable path rejects naming it', async () => {
  await assert.rejects(openSink('/nonexistent-dir-yolo/r.jsonl', 'jsonl'), /cannot write results to \/nonexistent-dir-yolo\/r\.jsonl: ENOENT/);
});

test('torn tails: JSONL', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 't.jsonl');
  const good = formatJsonlLine(OK) + '\n' + formatJsonlLine(EMPTY) + '\n';
  await writeFile(file, good + formatJsonlLine(FAILED).slice(0, 30));
  assert.deepEqual(await scanResults(file, 'jsonl'), { results: 2, tornTail: true, validBytes: Buffer.byteLength(good), header: null });
  assert.deepEqual(await collect(readJsonlResults(file)), [stored(OK), stored(EMPTY)]);

  // A complete record missing only its newline is still torn: the writer never finished it.
  await writeFile(file, good + formatJsonlLine(FAILED));
  assert.equal((await scanResults(file, 'jsonl')).tornTail, true);

  await writeFile(file, formatJsonlLine(OK) + '\n{"path": nope\n' + formatJsonlLine(EMPTY) + '\n');
  await assert.rejects(collect(readJsonlResults(file)), new RegExp(`${file} line 2: invalid JSON`));
  await rm(dir, { recursive: true });
});

test('torn tails: CSV drops the image whose rows may be incomplete', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 't.csv');
  const a = formatCsvRows(EMPTY);
  const b = formatCsvRows(OK); // two rows for the same image
  const secondRowStart = b.indexOf('\n"/data') + 1;

  // Torn in the second row of the OK image: only EMPTY is complete.
  await writeFile(file, CSV_HEADER + a + b.slice(0, secondRowStart + 20));
  assert.deepEqual(await scanResults(file, 'csv'), {
    results: 1,
    tornTail: true,
    validBytes: Buffer.byteLength(CSV_HEADER + a),
    header: null,
  });
  assert.deepEqual(await collect(readCsvResults(file)), [stored(EMPTY)]);

  // Torn inside a quoted path that contains a newline: EMPTY's record says it is complete (one
  // row, count 0), so it stays; the torn image is redone on resume.
  await writeFile(file, CSV_HEADER + a + b.slice(0, b.indexOf('\n') + 3));
  assert.deepEqual(await scanResults(file, 'csv'), {
    results: 1,
    tornTail: true,
    validBytes: Buffer.byteLength(CSV_HEADER + a),
    header: null,
  });

  // Cut exactly between the two rows of one image: every line is whole, yet the record has 1 of
  // its 2 rows — torn, not an image with one detection.
  await writeFile(file, CSV_HEADER + a + b.slice(0, secondRowStart));
  assert.deepEqual(await scanResults(file, 'csv'), {
    results: 1,
    tornTail: true,
    validBytes: Buffer.byteLength(CSV_HEADER + a),
    header: null,
  });

  // Clean file: both images, all bytes valid.
  await writeFile(file, CSV_HEADER + a + b);
  assert.deepEqual(await collect(readCsvResults(file)), [stored(EMPTY), stored(OK)]);
  assert.deepEqual(await scanResults(file, 'csv'), {
    results: 2,
    tornTail: false,
    validBytes: Buffer.byteLength(CSV_HEADER + a + b),
    header: null,
  });

  // A record interrupted mid-file by another image's row (an edited or joined file) is an error.
  await writeFile(file, CSV_HEADER + b.slice(0, secondRowStart) + a);
  await assert.rejects(collect(readCsvResults(file)), /line 4: the record of [\s\S]* has 1 of its 2 rows, then another image's row/);

  await writeFile(file, 'id,file\n1,x\n');
  await assert.rejects(collect(readCsvResults(file)), /line 1: not a results CSV/);
  await rm(dir, { recursive: true });
});
