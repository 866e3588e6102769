// Flag parsing: the src/config.ts parsers one by one, then the whole command line through
// commander into a RunConfig (defaults, environment, output format) without running anything.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULTS, UsageError, parseAutoInt, parseClasses, parseDevice, parseFormat, parseImgsz, parseNumber, parseShard, resolveClasses } from '../dist/config.js';
import { buildProgram, toRunConfig } from '../dist/program.js';

/** Asserts fn throws a UsageError whose message is exactly `message`. */
function usageError(fn, message) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe('parseNumber', () => {
  test('numbers within bounds', () => {
    assert.equal(parseNumber('--conf', '0.25', { min: 0, max: 1 }), 0.25);
    assert.equal(parseNumber('--conf', '0', { min: 0, max: 1 }), 0);
    assert.equal(parseNumber('--conf', '1', { min: 0, max: 1 }), 1);
    assert.equal(parseNumber('--iou', '1e-1'), 0.1);
    assert.equal(parseNumber('--max-det', '300', { min: 1, integer: true }), 300);
  });

  test('rejections say which flag, what was expected and what was given', () => {
    usageError(() => parseNumber('--conf', 'abc'), "--conf must be a number, got 'abc'");
    usageError(() => parseNumber('--conf', ''), "--conf must be a number, got ''");
    usageError(() => parseNumber('--conf', '  '), "--conf must be a number, got '  '");
    usageError(() => parseNumber('--conf', 'Infinity'), "--conf must be a number, got 'Infinity'");
    usageError(() => parseNumber('--conf', 'NaN'), "--conf must be a number, got 'NaN'");
    usageError(() => parseNumber('--max-det', '2.5', { integer: true }), "--max-det must be an integer, got '2.5'");
    usageError(() => parseNumber('--conf', '1.5', { min: 0, max: 1 }), '--conf must be at most 1, got 1.5');
    usageError(() => parseNumber('--conf', '-0.1', { min: 0, max: 1 }), '--conf must be at least 0, got -0.1');
    usageError(() => parseNumber('--max-det', '0', { min: 1, integer: true }), '--max-det must be at least 1, got 0');
  });
});

describe('parseAutoInt', () => {
  test("'auto' or a positive integer", () => {
    assert.equal(parseAutoInt('--batch', 'auto'), 'auto');
    assert.equal(parseAutoInt('--batch', '8'), 8);
    assert.equal(parseAutoInt('--workers', '1'), 1);
    assert.equal(parseAutoInt('--x', '0', 0), 0);
    usageError(() => parseAutoInt('--batch', '0'), '--batch must be at least 1, got 0');
    usageError(() => parseAutoInt('--batch', '2.5'), "--batch must be an integer, got '2.5'");
    usageError(() => parseAutoInt('--workers', 'AUTO'), "--workers must be an integer, got 'AUTO'");
  });
});

describe('parseImgsz', () => {
  test('N, H,W, HxW and H×W', () => {
    assert.deepEqual(parseImgsz('640'), [640, 640]);
    assert.deepEqual(parseImgsz('480,640'), [480, 640]);
    assert.deepEqual(parseImgsz('480x640'), [480, 640]);
    assert.deepEqual(parseImgsz('480×640'), [480, 640]);
    assert.deepEqual(parseImgsz(' 320 , 416 '), [320, 416]);
    assert.deepEqual(parseImgsz('32'), [32, 32]);
  });

  test('rejections', () => {
    usageError(() => parseImgsz('16'), '--imgsz must be at least 32, got 16');
    usageError(() => parseImgsz('640,'), "--imgsz must be an integer, got ''");
    usageError(() => parseImgsz('1,2,3'), "--imgsz must be N or H,W, got '1,2,3'");
    usageError(() => parseImgsz('big'), "--imgsz must be an integer, got 'big'");
    usageError(() => parseImgsz('640.5'), "--imgsz must be an integer, got '640.5'");
  });
});

describe('parseClasses', () => {
  test('comma-separated ids and names, blanks and spaces ignored, order kept', () => {
    assert.deepEqual(parseClasses('0'), { ids: [0], names: [] });
    assert.deepEqual(parseClasses('0,2'), { ids: [0, 2], names: [] });
    assert.deepEqual(parseClasses(' 5 , 0 '), { ids: [5, 0], names: [] });
    assert.deepEqual(parseClasses('0,,2,'), { ids: [0, 2], names: [] });
    assert.deepEqual(parseClasses('person, traffic light,2'), { ids: [2], names: ['person', 'traffic light'] });
  });

  test('rejections', () => {
    usageError(() => parseClasses(','), "--classes needs at least one class id or name, got ','");
    usageError(() => parseClasses(''), "--classes needs at least one class id or name, got ''");
    usageError(() => parseClasses('-1'), '--classes must be at least 0, got -1');
    usageError(() => parseClasses('1.5'), "--classes must be an integer, got '1.5'");
  });
});

describe('resolveClasses (issue 9 item 8)', () => {
  const names = ['person', 'bicycle', 'car', 'Traffic Light'];
  test('ids in range and names (exact, else ignoring case) become sorted unique ids', () => {
    assert.equal(resolveClasses(null, null, names, 'm.onnx'), null);
    assert.deepEqual(resolveClasses([2, 0], null, names, 'm.onnx'), [0, 2]);
    assert.deepEqual(resolveClasses([], ['car', 'PERSON', 'traffic light'], names, 'm.onnx'), [0, 2, 3]);
    assert.deepEqual(resolveClasses([2], ['car'], names, 'm.onnx'), [2]);
  });
  test('an id the model does not have, or an unknown name, is a usage error naming the count', () => {
    usageError(() => resolveClasses([999], null, names, 'm.onnx'), '--classes 999: m.onnx has 4 classes (ids 0 to 3): 0 person, 1 bicycle, 2 car, 3 Traffic Light');
    usageError(() => resolveClasses([4], null, names, 'm.onnx'), '--classes 4: m.onnx has 4 classes (ids 0 to 3): 0 person, 1 bicycle, 2 car, 3 Traffic Light');
    usageError(() => resolveClasses([], ['bus'], names, 'm.onnx'), "--classes 'bus': m.onnx has no class of that name; its classes: 0 person, 1 bicycle, 2 car, 3 Traffic Light");
  });
});

describe('parseDevice and parseFormat', () => {
  test('known values pass through, others list the choices', () => {
    for (const d of ['auto', 'cpu', 'cuda', 'tensorrt', 'webgpu']) assert.equal(parseDevice(d), d);
    usageError(() => parseDevice('gpu'), "--device must be one of auto, cpu, cuda, tensorrt, webgpu, got 'gpu'");
    usageError(() => parseDevice('CPU'), "--device must be one of auto, cpu, cuda, tensorrt, webgpu, got 'CPU'");
    assert.equal(parseFormat('jsonl'), 'jsonl');
    assert.equal(parseFormat('csv'), 'csv');
    usageError(() => parseFormat('json'), "--format must be jsonl or csv, got 'json'");
  });
});

describe('parseShard', () => {
  test('INDEX/COUNT, zero-based', () => {
    assert.deepEqual(parseShard('3/16'), { index: 3, count: 16 });
    assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
    assert.deepEqual(parseShard(' 15/16 '), { index: 15, count: 16 });
  });

  test('rejections', () => {
    usageError(() => parseShard('16/16'), "--shard index must be below the count (zero-based), got '16/16'");
    usageError(() => parseShard('0/0'), "--shard count must be at least 1, got '0/0'");
    usageError(() => parseShard('3'), "--shard must be INDEX/COUNT (zero-based, e.g. 3/16), got '3'");
    usageError(() => parseShard('-1/4'), "--shard must be INDEX/COUNT (zero-based, e.g. 3/16), got '-1/4'");
    usageError(() => parseShard('a/b'), "--shard must be INDEX/COUNT (zero-based, e.g. 3/16), got 'a/b'");
  });
});

// ---------------------------------------------------------------------------------------------
describe('command line → RunConfig', () => {
  /** Parses `yolo-serve batch ...args` with the real program, capturing the RunConfig instead of running. */
  async function configFor(args, env = {}) {
    const program = buildProgram(() => assert.fail('must not run'));
    for (const cmd of [program, ...program.commands]) cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    let cfg;
    program.commands[0].action((inputs, flags) => {
      cfg = toRunConfig(inputs, flags, env);
    });
    await program.parseAsync(['batch', ...args], { from: 'user' });
    return cfg;
  }

  test('defaults', async () => {
    const cfg = await configFor(['imgs', '--model', 'm.onnx', '--out', 'r.jsonl']);
    assert.deepEqual(cfg, {
      inputs: ['imgs'],
      recursive: true,
      pathColumn: 'path',
      modelPath: 'm.onnx',
      namesFile: null,
      imgsz: null,
      device: 'auto',
      batch: 'auto',
      workers: 'auto',
      threads: 'auto',
      decodeConcurrency: DEFAULTS.decodeConcurrency,
      post: { conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false, retinaMasks: false, maskFormat: 'polygon' },
      classNames: null,
      maxPixels: DEFAULTS.maxPixels,
      fastDecode: false,
      maxFileBytes: DEFAULTS.maxFileBytes,
      allowVector: false,
      annotateDir: null,
      annotateMaxSide: null,
      annotateQuality: 95,
      cropsDir: null,
      reportPath: null,
      out: 'r.jsonl',
      format: 'jsonl',
      summaryPath: null,
      annotateDir: null,
      cropsDir: null,
      annotateQuality: 95,
      annotateMaxSide: null,
      reportPath: null,
      saveTxt: null,
      saveConf: false,
      resume: false,
      retryFailed: false,
      overwrite: false,
      force: false,
      maxFailures: null,
      maxFailureRate: null,
      shard: null,
      shardCount: null,
      progress: 'auto',
      progressIntervalSec: 10,
      quiet: false,
      verbose: false,
    });
  });

  test('every detection and run flag lands in its field', async () => {
    const cfg = await configFor([
      'a', 'b', '-',
      '-m', 'm.onnx', '-o', 'r.txt', '--format', 'csv', '--names', 'n.yaml', '--imgsz', '480,640',
      '--device', 'cpu', '--batch', '8', '--workers', '2', '--threads', '3',
      '--conf', '0.4', '--iou', '0.5', '--max-det', '10', '--classes', '0,2', '--agnostic-nms',
      '--no-recursive', '--path-column', 'file', '--max-pixels', '1000000', '--fast-decode', '--overwrite',
      '--max-failures', '5', '--max-failure-rate', '0.1', '--shard', '1/4', '--summary', 's.json',
      '--no-progress', '--progress-interval', '2', '-q',
    ]);
    assert.deepEqual(cfg.inputs, ['a', 'b', '-']);
    assert.equal(cfg.modelPath, 'm.onnx');
    assert.equal(cfg.out, 'r.txt');
    assert.equal(cfg.format, 'csv');
    assert.equal(cfg.namesFile, 'n.yaml');
    assert.deepEqual(cfg.imgsz, [480, 640]);
    assert.deepEqual([cfg.device, cfg.batch, cfg.workers, cfg.threads], ['cpu', 8, 2, 3]);
    assert.deepEqual(cfg.post, { conf: 0.4, iou: 0.5, maxDet: 10, classes: [0, 2], agnostic: true, retinaMasks: false, maskFormat: 'polygon' });
    assert.deepEqual([cfg.recursive, cfg.pathColumn, cfg.maxPixels, cfg.fastDecode, cfg.overwrite], [false, 'file', 1000000, true, true]);
    assert.deepEqual([cfg.maxFailures, cfg.maxFailureRate, cfg.shard, cfg.summaryPath], [5, 0.1, { index: 1, count: 4, source: '--shard' }, 's.json']);
    assert.deepEqual([cfg.progress, cfg.progressIntervalSec, cfg.quiet], ['off', 2, true]);
  });

  test('model: --model wins over YOLO_SERVE_MODEL, which is used when --model is absent', async () => {
    assert.equal((await configFor(['x', '--out', '-'], { YOLO_SERVE_MODEL: 'env.onnx' })).modelPath, 'env.onnx');
    assert.equal((await configFor(['x', '--out', '-', '--model', 'flag.onnx'], { YOLO_SERVE_MODEL: 'env.onnx' })).modelPath, 'flag.onnx');
    await assert.rejects(configFor(['x', '--out', '-']), (e) => e instanceof UsageError && e.message === 'no model given: pass --model PATH or set YOLO_SERVE_MODEL');
  });

  test('output format: --format, else the extension (any case), stdout defaults to JSONL', async () => {
    const fmt = async (...args) => (await configFor(['x', '-m', 'm.onnx', ...args])).format;
    assert.equal(await fmt('--out', '-'), 'jsonl');
    assert.equal(await fmt('--out', '-', '--format', 'csv'), 'csv');
    assert.equal(await fmt('--out', 'r.CSV'), 'csv');
    assert.equal(await fmt('--out', 'r.ndjson'), 'jsonl');
    assert.equal(await fmt('--out', 'r.txt', '--format', 'jsonl'), 'jsonl');
    await assert.rejects(configFor(['x', '-m', 'm.onnx', '--out', 'r.txt']), (e) => e instanceof UsageError && /cannot tell the output format from 'r\.txt'/.test(e.message));
    await assert.rejects(configFor(['x', '-m', 'm.onnx']), (e) => e instanceof UsageError && /no output given/.test(e.message));
  });

  test('bad values are UsageErrors naming the flag; commander rejects unknown choices itself', async () => {
    await assert.rejects(configFor(['x', '-m', 'm', '--out', '-', '--conf', 'high']), (e) => e instanceof UsageError && e.message === "--conf must be a number, got 'high'");
    await assert.rejects(configFor(['x', '-m', 'm', '--out', '-', '--max-det', '0']), (e) => e instanceof UsageError && e.message === '--max-det must be at least 1, got 0');
    await assert.rejects(configFor(['x', '-m', 'm', '--out', '-', '--format', 'xml']), (e) => e.code === 'commander.invalidArgument');
    await assert.rejects(configFor(['x', '-m', 'm', '--out', '-', '--bogus']), (e) => e.code === 'commander.unknownOption');
  });
});
