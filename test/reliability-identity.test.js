// Attacks on what a results file is and who may write it (issue 9 items 1-4 and 10, and the
// closed-pipe and dangling-symlink cases): runs must never mix silently, two runs must never
// share an output, a CSV cut between two rows of an image must be seen as torn, --resume must
// never touch a file that is not ours, and the report counts only what reached the file.
// Real CLI runs on a synthetic model (test/helpers), so every test is fast and needs no ../shared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, repoRoot, resultsHeader, withoutHeader } from './helpers/cli.js';
import { runCli, writeImages, writeSyntheticModel } from './helpers/shard-fixtures.js';
import { readCsvResults, readJsonlResults, readProvenance, scanResults } from '../dist/outputs/read-results.js';
import { GuardedSink } from '../dist/reliability/guarded-sink.js';
import { openSink } from '../dist/outputs/sink.js';
import { EXIT_OUTPUT_CLOSED } from '../dist/reliability/run-guard.js';

let dir;
let model;
let model2;
let images;
let imageFiles;
const N = 25; // images, plus broken.jpg: every run exits 1 (one failed image) when complete

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-identity-'));
  model = writeSyntheticModel(path.join(dir, 'm.onnx'));
  // The same graph with other metadata: another file, another digest.
  const other = await readFile(model);
  model2 = path.join(dir, 'm2.onnx');
  await writeFile(model2, Buffer.concat([other, Buffer.from([0x12, 0x00])])); // an empty extra field: same model, new bytes
  images = path.join(dir, 'images');
  imageFiles = await writeImages(images, N);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const batch = (out, ...extra) => runCli(['batch', images, '--model', model, '--out', out, '--workers', '1', '-q', ...extra]);
const exists = (p) => access(p).then(() => true, () => false);
const collect = async (gen) => {
  const out = [];
  for await (const r of gen) out.push(r);
  return out;
};

// ---------------------------------------------------------------- 1. run identity

test('identity: every results file starts with a provenance header; the shared readers hide it and hand it over', async () => {
  const sha = createHash('sha256').update(await readFile(model)).digest('hex');
  for (const format of ['jsonl', 'csv']) {
    const out = path.join(dir, `prov.${format}`);
    const r = await batch(out, '--conf', '0.3', '--classes', '0,1');
    assert.equal(r.code, 1, r.stderr);
    const text = await readFile(out, 'utf8');
    assert.ok(format === 'csv' ? text.startsWith('#{"yolo_serve":') : text.startsWith('{"yolo_serve":'), text.slice(0, 40));
    const h = resultsHeader(text).yolo_serve;
    assert.equal(h.schema, 1);
    assert.equal(h.task, 'detect');
    assert.equal(h.model.sha256, sha);
    assert.equal(h.model.file, 'm.onnx');
    assert.match(h.model.names_sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(h.options, { agnostic_nms: false, allow_vector: false, classes: [0, 1], conf: 0.3, imgsz: [64, 64], iou: 0.7, max_det: 300, max_file_bytes: 268435456, max_pixels: 134217728 });
    assert.equal(h.version, JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')).version);

    const info = { header: null };
    const recs = await collect(format === 'csv' ? readCsvResults(out, info) : readJsonlResults(out, info));
    assert.equal(recs.length, N + 1, 'image records only');
    assert.ok(recs.every((x) => typeof x.path === 'string'));
    assert.deepEqual(info.header.provenance.options, h.options);
    assert.equal((await readProvenance(out)).provenance.model.sha256, sha);
    assert.equal((await scanResults(out, format)).header.provenance.model.sha256, sha);
  }
  // --out - carries it too: it is the first line of the stream.
  const s = await runCli(['batch', images, '--model', model, '--out', '-', '-q']);
  assert.equal(resultsHeader(s.stdout).yolo_serve.model.sha256, sha);
});

test('identity: --resume with another --conf, --names or model is refused (exit 2, each difference named, file untouched); --force mixes, loudly, and says so in the header', async () => {
  const out = path.join(dir, 'mix.jsonl');
  const first = await batch(out);
  assert.equal(first.code, 1, first.stderr);
  // Make it look interrupted: keep the header and 5 records.
  const lines = (await readFile(out, 'utf8')).split('\n');
  await writeFile(out, lines.slice(0, 6).join('\n') + '\n');
  const before = await readFile(out);
  const names = path.join(dir, 'names.txt');
  await writeFile(names, 'kitten\npuppy\n');

  const conf = await batch(out, '--resume', '--conf', '0.5');
  assert.equal(conf.code, 2, conf.stderr);
  assert.match(conf.stderr, /cannot resume .*mix\.jsonl: it was written by a different run/);
  assert.match(conf.stderr, /--conf: 0\.25 in .*mix\.jsonl, 0\.5 in this run/);
  assert.deepEqual(await readFile(out), before);

  const both = await batch(out, '--resume', '--names', names, '--iou', '0.5');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /class names \(sha256; --names\): [0-9a-f]{12}… in .*, [0-9a-f]{12}… in this run/);
  assert.match(both.stderr, /--iou: 0\.7 in .*, 0\.5 in this run/);
  assert.deepEqual(await readFile(out), before);

  const other = await runCli(['batch', images, '--model', model2, '--out', out, '--resume', '-q']);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /model \(sha256\): [0-9a-f]{12}… in .*, [0-9a-f]{12}… in this run/);
  assert.deepEqual(await readFile(out), before);

  const forced = await batch(out, '--resume', '--conf', '0.5', '--force');
  assert.equal(forced.code, 1, forced.stderr);
  assert.match(forced.stderr, /WARNING: --force: mixing runs in .*mix\.jsonl: --conf: 0\.25 in .*, 0\.5 in this run/);
  const text = await readFile(out, 'utf8');
  const h = resultsHeader(text);
  assert.equal(h.yolo_serve.options.conf, 0.5, 'the header names the run now writing');
  assert.equal(h.mixed.length, 1);
  assert.equal(h.mixed[0].options.conf, 0.25, 'and the run it was mixed with');
  assert.equal(withoutHeader(text).split('\n').length - 1, N + 1, 'every image once');
  // Resuming the mixed file with the newer settings works, and warns that it is mixed.
  const again = await batch(out, '--resume', '--conf', '0.5');
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /already mixes the results of 2 different runs/);
});

test('identity: merge refuses parts of different runs (exit 2, naming the difference); --force mixes loudly; the merged file carries the provenance', async () => {
  const a = path.join(dir, 'pa.jsonl');
  const b = path.join(dir, 'pb.jsonl');
  const c = path.join(dir, 'pc.jsonl');
  for (const [out, ...flags] of [[a, '--shard', '0/2'], [b, '--shard', '1/2'], [c, '--shard', '1/2', '--max-det', '1']]) {
    const r = await batch(out, ...flags);
    assert.notEqual(r.code, 2, r.stderr);
  }

  const good = path.join(dir, 'merged-good.jsonl');
  const ok = await runCli(['merge', good, a, b, '-q']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(resultsHeader(await readFile(good, 'utf8')), resultsHeader(await readFile(a, 'utf8')));

  const bad = path.join(dir, 'merged-bad.jsonl');
  const refused = await runCli(['merge', bad, a, c]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /cannot merge: the parts were written by different runs/);
  assert.match(refused.stderr, /--max-det: 300 in .*pa\.jsonl, 1 in .*pc\.jsonl/);
  assert.equal(await exists(bad), false);

  const forced = await runCli(['merge', bad, a, c, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /WARNING: --force: mixing runs: --max-det/);
  const h = resultsHeader(await readFile(bad, 'utf8'));
  assert.equal(h.yolo_serve.options.max_det, 300);
  assert.deepEqual(h.mixed.map((p) => p.options.max_det), [1]);
  // A mixed file is itself refused as a part without --force.
  const again = await runCli(['merge', path.join(dir, 'm3.jsonl'), bad]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already mixes the results of 2 runs/);
});

// ---------------------------------------------------------------- 2. output lock

test('lock: a second run on the same --out fails fast (exit 2, naming the holder); the first finishes; the lock is gone after', async () => {
  const out = path.join(dir, 'locked.jsonl');
  // Run A takes the lock, then waits for its paths on stdin: it holds the lock as long as we like.
  const a = spawn(process.execPath, [BIN, 'batch', '-', '--model', model, '--out', out, '-q'], { cwd: repoRoot });
  let aErr = '';
  a.stderr.on('data', (d) => (aErr += d));
  const aDone = new Promise((resolve) => a.on('close', (code) => resolve(code)));
  for (let i = 0; i < 200 && !(await exists(out + '.lock')); i++) await new Promise((r) => setTimeout(r, 25));
  const lock = JSON.parse(await readFile(out + '.lock', 'utf8'));
  assert.equal(lock.pid, a.pid);
  assert.equal(lock.host, hostname());

  const t0 = Date.now();
  const b = await batch(out, '--overwrite');
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, new RegExp(`output .*locked\\.jsonl is in use by another run \\(pid ${a.pid} on ${hostname()}`));
  assert.ok(Date.now() - t0 < 20_000);
  // B did not touch the output A is writing, nor A's lock.
  assert.equal(JSON.parse(await readFile(out + '.lock', 'utf8')).pid, a.pid);

  a.stdin.end(imageFiles.slice(0, 3).join('\n') + '\n');
  assert.equal(await aDone, 0, aErr);
  assert.equal(withoutHeader(await readFile(out, 'utf8')).split('\n').length - 1, 3);
  assert.equal(await exists(out + '.lock'), false, 'released on a normal exit');
});

test('lock: released on SIGINT/SIGTERM (before and during the run) and after a refusal', async () => {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    const out = path.join(dir, `sig-${signal}.jsonl`);
    const a = spawn(process.execPath, [BIN, 'batch', '-', '--model', model, '--out', out, '-q'], { cwd: repoRoot });
    const done = new Promise((resolve) => a.on('close', (code, sig) => resolve(code ?? sig)));
    for (let i = 0; i < 200 && !(await exists(out + '.lock')); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(await exists(out + '.lock'));
    a.kill(signal); // while it waits for its inputs: before the run guard exists
    assert.equal(await done, signal);
    assert.equal(await exists(out + '.lock'), false, `released on ${signal}`);
  }
  // After a refusal (exit 2 once the lock was taken): a resume of a file that is not ours.
  const junk = path.join(dir, 'junk.jsonl');
  await writeFile(junk, 'hello');
  const r = await batch(junk, '--resume');
  assert.equal(r.code, 2);
  assert.equal(await exists(junk + '.lock'), false);
});

test('lock: a stale lock (dead pid on this host; another host, not refreshed) is taken over with a notice; a fresh foreign one refuses', async () => {
  const out = path.join(dir, 'stale.jsonl');
  const dead = spawn(process.execPath, ['-e', '']);
  const deadPid = await new Promise((resolve) => dead.on('close', () => resolve(dead.pid)));
  const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => null);
  const lockOf = (over) => JSON.stringify({ pid: deadPid, host: hostname(), boot_id: bootId, pid_start: null, started: '2026-01-01T00:00:00.000Z', command: 'x', ...over }) + '\n';

  await writeFile(out + '.lock', lockOf({}));
  const r1 = await batch(out);
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(r1.stderr, new RegExp(`taking over a stale lock on .*stale\\.jsonl \\(pid ${deadPid} on .*: process ${deadPid} is no longer running\\)`));
  assert.equal(await exists(out + '.lock'), false);

  await writeFile(out + '.lock', lockOf({ host: 'elsewhere-42', pid: 1 }));
  const r2 = await batch(out, '--overwrite');
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /in use by another run \(pid 1 on elsewhere-42.*It belongs to host elsewhere-42.*not refreshed for 120s/);
  const old = new Date(Date.now() - 10 * 60_000);
  await utimes(out + '.lock', old, old);
  const r3 = await batch(out, '--overwrite');
  assert.equal(r3.code, 1, r3.stderr);
  assert.match(r3.stderr, /taking over a stale lock .*not refreshed for \d+s/);
  assert.equal(await exists(out + '.lock'), false);
  // No lock for stdout.
  const s = await runCli(['batch', images, '--model', model, '--out', '-', '-q']);
  assert.equal(s.code, 1);
});

// ---------------------------------------------------------------- 3. CSV record completeness

test('CSV cut exactly between two rows of one image: --resume redoes that image (no lost detection); merge reports the part torn', async () => {
  const ref = path.join(dir, 'ref.csv');
  assert.equal((await batch(ref)).code, 1);
  const full = await readFile(ref, 'utf8');
  const lines = full.split('\n');
  // Every good image has 2 detections (2 rows). Cut after the first row of the last image.
  const lastImageRow = lines.length - 3; // ... row1, row2, '' (final newline)
  assert.equal(lines[lastImageRow].split(',')[0], lines[lastImageRow + 1].split(',')[0], 'two rows of one image');
  const cut = lines.slice(0, lastImageRow + 1).join('\n') + '\n';
  const out = path.join(dir, 'cut.csv');
  await writeFile(out, cut);

  const m = await runCli(['merge', path.join(dir, 'cut-merged.csv'), out]);
  assert.equal(m.code, 1, m.stderr);
  assert.match(m.stderr, /cut\.csv ends in an incomplete record/);

  const r = await batch(out, '--resume');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(await readFile(out, 'utf8'), full, 'the resumed file equals an uninterrupted run');
});

// ---------------------------------------------------------------- 4. files that are not ours

test('--resume refuses anything that is not recognisably a yolo-serve results file (exit 2), and leaves it untouched', async () => {
  const legacyJsonl = '{"path":"/x.jpg","width":1,"height":1,"detections":[],"error":null}\n';
  const jsonlResults = path.join(dir, 'prov.jsonl'); // written by the first test
  const cases = [
    ['noline.jsonl', 'hello', /not a yolo-serve results file \(it has no complete line\)/],
    ['binary.jsonl', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /not a yolo-serve results file \(it holds binary data\)/],
    ['text.jsonl', 'dear diary\nnothing happened\n', /its first line is neither a yolo-serve header nor a results record/],
    ['legacy.jsonl', legacyJsonl, /it has no provenance header/],
    ['legacy.csv', 'path,width,height,class,name,confidence,x1,y1,x2,y2,error\n/x.jpg,1,1,,,,,,,,\n', /it has no provenance header/],
    ['columns.csv', 'id,file\n1,x\n', /its first line is neither/],
  ];
  for (const [name, content, why] of cases) {
    const f = path.join(dir, name);
    await writeFile(f, content);
    const r = await batch(f, '--resume');
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, why, name);
    assert.match(r.stderr, /left untouched/);
    assert.deepEqual(await readFile(f), Buffer.from(content), `${name} is untouched`);
  }
  // A JSONL results file resumed as CSV (and the reverse) is refused too.
  const before = await readFile(jsonlResults);
  const r = await runCli(['batch', images, '--model', model, '--out', jsonlResults, '--format', 'csv', '--resume', '-q', '--conf', '0.3', '--classes', '0,1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /it is a jsonl results file and this run writes csv/);
  assert.deepEqual(await readFile(jsonlResults), before);
});

test('--out naming one of the run\'s own inputs (a manifest, a named image, through a symlink) is refused (exit 2), the input intact', async () => {
  const manifest = path.join(dir, 'list.jsonl');
  const content = imageFiles.slice(0, 3).map((p) => JSON.stringify({ path: p })).join('\n') + '\n';
  await writeFile(manifest, content);
  const r1 = await runCli(['batch', manifest, '--model', model, '--out', manifest, '--overwrite', '-q']);
  assert.equal(r1.code, 2, r1.stderr);
  assert.match(r1.stderr, /--out .*list\.jsonl is one of this run's inputs/);
  assert.equal(await readFile(manifest, 'utf8'), content);

  const alias = path.join(dir, 'alias.jsonl');
  await symlink(manifest, alias);
  const r2 = await runCli(['batch', manifest, '--model', model, '--out', alias, '--resume', '-q']);
  assert.equal(r2.code, 2, r2.stderr);
  assert.equal(await readFile(manifest, 'utf8'), content);

  const img = imageFiles[0];
  const before = await readFile(img);
  const r3 = await runCli(['batch', images, '--model', model, '--out', img, '--format', 'jsonl', '--overwrite', '-q']);
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /is one of this run's input images/);
  assert.deepEqual(await readFile(img), before);
});

// ---------------------------------------------------------------- 10. counts from the file

test('after a write error, the report counts what reached the file (nothing, on a full disk), not what was handed over', async (t) => {
  if (!(await exists('/dev/full'))) return t.skip('/dev/full not available');
  const summary = path.join(dir, 'full.summary.json');
  const r = await runCli(['batch', images, '--model', model, '--out', '/dev/full', '--format', 'jsonl', '--summary', summary, '-q']);
  assert.equal(r.code, 3, r.stderr);
  const s = JSON.parse(await readFile(summary, 'utf8'));
  assert.deepEqual(s.images, { total: N + 1, ok: 0, failed: 0, skipped: 0, not_started: N + 1 });
  assert.equal(s.detections.total, 0);
  assert.deepEqual(s.failures, {});
  assert.match(r.stderr, new RegExp(`${N + 1} images not processed`));
});

test('GuardedSink counts a record once its bytes reached the file: records buffered before a write error are not counted', async (t) => {
  if (!(await exists('/dev/full'))) return t.skip('/dev/full not available');
  const committed = [];
  const sink = new GuardedSink(await openSink('/dev/full', 'jsonl'), () => {}, (r) => committed.push(r.path));
  const rec = (i) => ({ index: i, path: `/i/${i}.jpg`, width: 1, height: 1, detections: [], error: null });
  let handed = 0;
  for (let i = 0; i < 50; i++) {
    try {
      await sink.write(rec(i));
      handed++;
    } catch {
      break;
    }
  }
  await sink.close().catch(() => {});
  assert.ok(handed > 0, 'some records were accepted before the error surfaced');
  assert.equal(sink.written, 0);
  assert.deepEqual(sink.tally, { ok: 0, failed: 0, detections: 0 });
  assert.deepEqual(committed, []);
});

// ---------------------------------------------------------------- extras

test('--out - into a closed pipe (| head -1): exits 141 quietly, no error, no advice to resume', async () => {
  const child = spawn(process.execPath, [BIN, 'batch', images, '--model', model, '--out', '-', '--workers', '1'], { cwd: repoRoot });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Read the first line, then close our end, as `head -1` does.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, EXIT_OUTPUT_CLOSED, stderr);
  assert.doesNotMatch(stderr, /error|--resume|internal/i);
});

test('a dangling symlink as --out is followed (its target is created); one into a missing directory, or a loop, is exit 2', async () => {
  const target = path.join(dir, 'link-target.jsonl');
  const link = path.join(dir, 'dangling.jsonl');
  await symlink(target, link);
  const r = await batch(link);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(withoutHeader(await readFile(target, 'utf8')).split('\n').length - 1, N + 1);
  assert.equal(await exists(target + '.lock'), false);
  // Resume through the link works on the target.
  assert.equal((await batch(link, '--resume')).code, 1);

  const nowhere = path.join(dir, 'nowhere.jsonl');
  await symlink(path.join(dir, 'no-such-dir', 'x.jsonl'), nowhere);
  const r2 = await batch(nowhere);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /cannot write output .*nowhere\.jsonl \(a symlink to .*no-such-dir\/x\.jsonl\): directory .*no-such-dir does not exist/);

  const loop = path.join(dir, 'loop.jsonl');
  await symlink(loop, loop);
  const r3 = await batch(loop);
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /symlink loop/);

  // merge OUT through a dangling link writes the target too (not a file in place of the link).
  const mt = path.join(dir, 'merge-target.jsonl');
  const ml = path.join(dir, 'merge-link.jsonl');
  await symlink(mt, ml);
  const m = await runCli(['merge', ml, target, '-q']);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(await readFile(mt, 'utf8'), await readFile(target, 'utf8'));
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
});
