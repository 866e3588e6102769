// `yolo-serve report` and `batch --report`: the streaming collector (counts, histograms, bounded
// gallery picks, seeded random sample), the page itself (counts in the DOM, everything from the
// data escaped, JSONL = CSV = shards), the page in a real headless chromium (screenshot, no
// console messages, script ran), and a 1M-record results file under a 64 MB V8 heap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { ReportCollector, seededRandom } from '../dist/report/collect.js';
import { formatCsvRows, CSV_HEADER } from '../dist/outputs/csv.js';
import { openInChromium, requireChromium } from './helpers/chromium.js';
import { requireShared, runCli, sharedDir, parseJsonl } from './helpers/cli.js';

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-html-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const det = (cls, name, confidence, box = { x1: 10, y1: 20, x2: 110, y2: 120 }) => ({ name, class: cls, confidence, box });
const ok = (p, dets, w = 320, h = 240) => ({ path: p, width: w, height: h, detections: dets, error: null });
const failed = (p, code, message) => ({ path: p, width: null, height: null, detections: [], error: { code, message } });

test('collector: counts, classes, confidence bins, detections per image, failures by code with bounded samples', () => {
  const c = new ReportCollector({ gallerySize: 2, seed: 1, failureSamples: 2 });
  c.add(ok('/a/1.jpg', [det(0, 'person', 0.9), det(0, 'person', 0.31), det(2, 'car', 0.55)]));
  c.add(ok('/a/2.jpg', []));
  c.add(ok('/a/3.jpg', [det(2, 'car', 0.26)]));
  for (let i = 0; i < 5; i++) c.add(failed(`/a/bad${i}.jpg`, 'DECODE_FAILED', `bad ${i}`));
  c.add(failed('/a/gone.jpg', 'NOT_FOUND', 'gone'));
  const r = c.result();
  assert.deepEqual([r.records, r.ok, r.failed, r.detections], [9, 3, 6, 4]);
  assert.deepEqual(r.classes.map((k) => [k.name, k.count, k.images]), [['person', 2, 1], ['car', 2, 2]]);
  const person = r.classes.find((k) => k.name === 'person');
  assert.equal(person.confidenceBins[18], 1); // 0.90 → bin [0.90, 0.95)
  assert.equal(person.confidenceBins[6], 1); // 0.31 → bin [0.30, 0.35)
  assert.deepEqual(r.detsPerImage, [1, 1, 0, 1]);
  assert.deepEqual(r.failures.map((g) => [g.code, g.count, g.samples.length]), [['DECODE_FAILED', 5, 2], ['NOT_FOUND', 1, 1]]);
  assert.equal(r.failures[0].samples[0].message, 'bad 0');
  assert.deepEqual(r.gallery.most.map((g) => g.path), ['/a/1.jpg', '/a/3.jpg']);
  assert.deepEqual(r.gallery.lowest.map((g) => g.path), ['/a/3.jpg', '/a/1.jpg']);
});

test('collector: gallery picks are bounded; the random sample is reproducible from the seed', () => {
  const run = (seed) => {
    const c = new ReportCollector({ gallerySize: 5, seed, failureSamples: 3 });
    for (let i = 0; i < 10_000; i++) c.add(ok(`/d/${i}.jpg`, Array.from({ length: i % 7 }, (_, k) => det(k, `c${k}`, ((i * 31 + k) % 97) / 100))));
    return c.result();
  };
  const a = run(7);
  const b = run(7);
  const other = run(8);
  assert.equal(a.gallery.random.length, 5);
  assert.deepEqual(a.gallery.random.map((g) => g.path), b.gallery.random.map((g) => g.path));
  assert.notDeepEqual(a.gallery.random.map((g) => g.path), other.gallery.random.map((g) => g.path));
  // Spread over the whole file, not just its head.
  assert.ok(a.gallery.random.some((g) => Number(path.basename(g.path, '.jpg')) > 2000));
  assert.equal(a.gallery.most.length, 5);
  assert.ok(a.gallery.most.every((g) => g.detections.length === 6));
  assert.equal(a.gallery.most[0].path, '/d/6.jpg', 'ties keep file order');
  assert.ok(a.gallery.lowest.every((g) => g.minConfidence === 0));
  const r = seededRandom(1);
  const xs = Array.from({ length: 1000 }, r);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

/** Three real images, a failure, and names built to break out of HTML. */
async function syntheticRun(dir) {
  fs.mkdirSync(dir, { recursive: true });
    // (No '/' in a file name, so no closing tags here; the record's other fields carry those.)
  const evil = path.join(dir, '"><svg onload=alert(1)><img src=x onerror=alert(2)>.png');
  const files = [path.join(dir, 'red.jpg'), path.join(dir, 'sub dir', 'blue.jpg'), evil];
  fs.mkdirSync(path.join(dir, 'sub dir'));
  const colors = [{ r: 200, g: 40, b: 40 }, { r: 40, g: 40, b: 200 }, { r: 40, g: 160, b: 40 }];
  for (const [i, f] of files.entries()) await sharp({ create: { width: 320, height: 240, channels: 3, background: colors[i] } }).toFile(f);
  const records = [
    ok(files[0], [det(0, 'person', 0.91), det(0, 'person', 0.42, { x1: 150, y1: 30, x2: 300, y2: 230 }), det(2, 'car', 0.3, { x1: 0, y1: 0, x2: 60, y2: 40 })]),
    ok(files[1], [det(16, '<img src=x onerror=alert(3)>', 0.77)]),
    ok(files[2], []),
    failed(path.join(dir, '<b>broken</b>.jpg'), 'DECODE_FAILED', 'cannot decode image (<script>alert(4)</script>)'),
  ];
  return { files, records };
}

function writeJsonl(file, records) {
  fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
function writeCsv(file, records) {
  fs.writeFileSync(file, CSV_HEADER + records.map((r, i) => formatCsvRows({ index: i, ...r })).join(''));
}

const count = (html, key) => Number(html.match(new RegExp(`data-count="${key}">([\\d,]+)<`))?.[1].replace(/,/g, ''));

test('report: counts in the page, data escaped everywhere, JSONL = CSV = two shards', async () => {
  const dir = path.join(tmp, 'synthetic');
  const { records } = await syntheticRun(dir);
  writeJsonl(path.join(tmp, 'r.jsonl'), records);
  writeCsv(path.join(tmp, 'r.csv'), records);
  writeJsonl(path.join(tmp, 'part0.jsonl'), records.slice(0, 2));
  writeCsv(path.join(tmp, 'part1.csv'), records.slice(2));

  const pages = {};
  for (const [name, inputs] of Object.entries({ jsonl: ['r.jsonl'], csv: ['r.csv'], shards: ['part0.jsonl', 'part1.csv'] })) {
    const html = path.join(tmp, `${name}.html`);
    const res = await runCli(['report', ...inputs.map((f) => path.join(tmp, f)), '--html', html]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /report: .* 4 images \(1 failed\), 4 detections, 3 of 3 gallery images embedded/);
    pages[name] = fs.readFileSync(html, 'utf8');
  }
  const strip = (h) => h.replace(/<section id="gallery">[\s\S]*<\/section>/, '').replace(/<dt>results<\/dt><dd>.*?<\/dd>/, '').replace(/Generated [^<]*/, '');
  assert.equal(strip(pages.csv), strip(pages.jsonl));
  assert.equal(strip(pages.shards), strip(pages.jsonl));

  const h = pages.jsonl;
  assert.deepEqual([count(h, 'images'), count(h, 'ok'), count(h, 'failed'), count(h, 'detections')], [4, 3, 1, 4]);
  assert.match(h, /data-class-count="person">2</);
  assert.match(h, /data-failure-code="DECODE_FAILED">1</);
  // Exactly one script element (ours), no <img> element, no event-handler attribute anywhere.
  assert.equal(h.match(/<script/g).length, 1);
  assert.ok(!/<img/i.test(h), 'no <img> element: thumbnails are SVG <image> and data never becomes markup');
  assert.ok(!/<b>broken/.test(h));
  // With every quoted attribute value removed (escapeXml turns " into &quot;, so none can end
  // early), no tag has an event-handler attribute.
  const tags = h.replace(/"[^"]*"/g, '""').match(/<[a-z][^>]*>/gi);
  assert.ok(tags.every((tag) => !/\son\w+\s*=/i.test(tag)), tags.find((tag) => /\son\w+\s*=/i.test(tag)));
  assert.match(h, /&lt;img src=x onerror=alert\(3\)&gt;/);
  assert.match(h, /cannot decode image \(&lt;script&gt;alert\(4\)&lt;\/script&gt;\)/);
  // Links are file:// URLs with the path percent-encoded.
  assert.match(h, /href="file:\/\/[^"]*%22%3E%3Csvg%20onload=alert\(1\)%3E/);
  // Self-contained: nothing fetched from anywhere.
  assert.match(h, /Content-Security-Policy" content="default-src 'none'/);
  assert.ok(!/(src|href)="(https?:)?\/\//.test(h));
  assert.equal((h.match(/<image id="thumb-/g) ?? []).length, 3);
});

test('report: usage errors name the file', async () => {
  const missing = await runCli(['report', path.join(tmp, 'nope.jsonl'), '--html', path.join(tmp, 'x.html')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /results file .*nope\.jsonl not found/);
  const bad = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(bad, '{"path":"/a.jpg","detections":[]}\nnot json\n');
  const r = await runCli(['report', bad, '--html', path.join(tmp, 'x.html')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.jsonl line 2: invalid JSON/);
  const noHtml = await runCli(['report', bad]);
  assert.equal(noHtml.code, 2);
  assert.match(noHtml.stderr, /--html/);
  const dirTarget = await runCli(['report', bad, '--html', path.join(tmp, 'no-such-dir', 'r.html')]);
  assert.equal(dirTarget.code, 2);
  assert.match(dirTarget.stderr, /does not exist/);
});

test('browser: a page that logs or throws is caught by the console check (the check can fail)', async (t) => {
  const bin = requireChromium(t);
  if (!bin) return;
  const bad = path.join(tmp, 'bad.html');
  fs.writeFileSync(bad, '<!DOCTYPE html><html><body><p>x</p><script>throw new Error("boom")</script></body></html>');
  const r = await openInChromium(bin, bad, { dumpDom: true });
  assert.ok(r.consoleLines.some((l) => l.includes('Uncaught Error: boom')), r.consoleLines.join('\n'));
  // The page built from hostile names (previous test): an injected <img src=x onerror=…> would
  // try to load `x`, which the CSP refuses with a console message; an injected script would run.
  const hostile = path.join(tmp, 'jsonl.html');
  if (!fs.existsSync(hostile)) return;
  const page = await openInChromium(bin, hostile, { dumpDom: true });
  assert.deepEqual(page.consoleLines, []);
  assert.match(page.stdout, /<body data-ready="1">/);
  assert.equal(page.stdout.match(/<script/g).length, 1);
});

test('browser: batch --report on real images opens in chromium with no console messages, the counts in the DOM, and a screenshot', async (t) => {
  if (!requireShared(t)) return;
  const bin = requireChromium(t);
  if (!bin) return;
  const images = path.join(tmp, 'real');
  fs.mkdirSync(images);
  const coco = path.join(sharedDir, 'images', 'coco128');
  for (const f of fs.readdirSync(coco).filter((f) => f.endsWith('.jpg')).sort().slice(0, 6)) fs.copyFileSync(path.join(coco, f), path.join(images, f));
  fs.writeFileSync(path.join(images, 'broken.jpg'), 'not a jpeg');
  const out = path.join(tmp, 'real.jsonl');
  const html = path.join(tmp, 'real.html');
  const res = await runCli(['batch', images, '--model', path.join(sharedDir, 'models', 'yolov8n_int8_640.onnx'), '--out', out, '--report', html, '--no-progress']);
  assert.equal(res.code, 1, res.stderr); // one image failed
  assert.match(res.stderr, /report: .*real\.html/);
  const records = parseJsonl(fs.readFileSync(out, 'utf8'));
  const detections = records.reduce((n, r) => n + r.detections.length, 0);

  const dom = await openInChromium(bin, html, { dumpDom: true });
  assert.deepEqual(dom.consoleLines, [], 'no console messages (errors, CSP refusals)');
  assert.match(dom.stdout, /<body data-ready="1">/, 'the page script ran to its end');
  assert.equal(count(dom.stdout, 'images'), 7);
  assert.equal(count(dom.stdout, 'failed'), 1);
  assert.equal(count(dom.stdout, 'detections'), detections);
  assert.match(dom.stdout, /id="latency-table"/, 'latency from the run summary');
  assert.match(dom.stdout, /<td>end to end<\/td><td class="num">7<\/td>/);
  assert.match(dom.stdout, /data-failure-code="DECODE_FAILED">1</);

  const png = path.join(tmp, 'real.png');
  const shot = await openInChromium(bin, html, { screenshot: png, size: '1280,2400' });
  assert.deepEqual(shot.consoleLines, []);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [1280, 2400]);
  // Not a blank page: the screenshot has many distinct colours (charts, thumbnails).
  const { data } = await sharp(png).resize(320, 600).raw().toBuffer({ resolveWithObject: true });
  const colours = new Set();
  for (let i = 0; i < data.length; i += 3) colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
  assert.ok(colours.size > 200, `screenshot has ${colours.size} colours`);
  if (process.env.YOLO_SERVE_KEEP_SCREENSHOT) fs.copyFileSync(png, process.env.YOLO_SERVE_KEEP_SCREENSHOT);
});

test('report: a 1M-record results file renders under a 64 MB V8 heap (bounded memory)', { timeout: 300_000 }, async () => {
  const file = path.join(tmp, '1m.jsonl');
  const out = fs.createWriteStream(file);
  let buf = '';
  const N = 1_000_000;
  for (let i = 0; i < N; i++) {
    const rec =
      i % 1000 === 999
        ? failed(`/d/${i}.jpg`, 'DECODE_FAILED', `/d/${i}.jpg: cannot decode image`)
        : ok(`/d/${i}.jpg`, Array.from({ length: i % 4 }, (_, k) => det((i + k) % 5, `c${(i + k) % 5}`, ((i * 7 + k * 13) % 100) / 100)));
    buf += JSON.stringify(rec) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  await new Promise((r) => out.end(buf, r));
  const html = path.join(tmp, '1m.html');
  const probe = path.join(tmp, 'maxrss.mjs');
  fs.writeFileSync(probe, 'process.on("exit", () => process.stderr.write(`maxrss_kb ${process.resourceUsage().maxRSS}\\n`));\n');
  const res = await runCli(['report', file, '--html', html], {
    env: { NODE_OPTIONS: `--max-old-space-size=64 --import=${probe}` },
    timeoutMs: 280_000,
  });
  fs.rmSync(file);
  assert.equal(res.code, 0, res.stderr);
  const h = fs.readFileSync(html, 'utf8');
  assert.equal(count(h, 'images'), N);
  assert.equal(count(h, 'failed'), 1000);
  assert.equal(count(h, 'detections'), 1_497_000);
  const rss = Number(res.stderr.match(/maxrss_kb (\d+)/)?.[1]);
  assert.ok(rss > 0, res.stderr);
  // Holding the records would take hundreds of MB; the 64 MB heap alone would already have failed.
  assert.ok(rss < 250 * 1024, `peak RSS ${Math.round(rss / 1024)} MB`);
  t_note(`1M records: peak RSS ${Math.round(rss / 1024)} MB`);
});

function t_note(msg) {
  process.stdout.write(`# ${msg}\n`);
}
