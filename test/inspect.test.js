// `yolo-serve inspect`: the report for every model in ../shared/models (in-process, with the probe
// inference), synthetic models whose every field is known, and the CLI (--json, text, exit
// codes, --version and --help).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { formatInspectText, inspectExitCode, inspectModel } from '../dist/commands/inspect.js';
import { writeModel, ultralyticsMetadata } from './helpers/onnx-builder.js';
import { repoRoot, NON_DETECT_MODEL, requireShared, runCli, sharedDir } from './helpers/cli.js';

const modelsDir = path.join(sharedDir, 'models');
const pkgVersion = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;



let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-inspect-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Every shared model, as described in ../shared/ASSETS.md. Columns: layout, where the layout came
// from, names source, imgsz, where imgsz came from, dynamic batch, dynamic H/W, end2end, number
// of outputs, input dtype, opset, probe output dims, sha256 prefix.
const XC = 'xywh-classes';
const XOC = 'xywh-obj-classes';
const E2E = 'xyxy-score-class';
const MODELS = {
  'yolov8n_int8_416.onnx': [XC, 'output shape', 'metadata', 416, 'input shape', false, false, false, 1, 'float32', 17, [1, 84, 3549], '48bf52fd765c'],
  'yolov8n_int8_dynamic.onnx': [XC, 'metadata', 'metadata', 640, 'metadata', true, true, false, 1, 'float32', 17, [1, 84, 8400], '72c9c7fa2a62'],
  'yolov8n_int8_640.onnx': [XC, 'output shape', 'metadata', 640, 'input shape', false, false, false, 1, 'float32', 20, [1, 84, 8400], '0954f7cb88ff'],
  'yolo11n_int8_640.onnx': [XC, 'output shape', 'metadata', 640, 'input shape', false, false, false, 1, 'float32', 19, [1, 84, 8400], '81d6d2affeb3'],
  'yolo11n_int8_320.onnx': [XC, 'output shape', 'metadata', 320, 'input shape', false, false, false, 1, 'float32', 12, [1, 84, 2100], '5ea9b19c6c4d'],
  'yolov5nu_int8_640_multiout.onnx': [XC, 'output shape', 'metadata', 640, 'input shape', false, false, false, 4, 'float32', 17, [1, 84, 8400], '8aa6f5f0e65c'],
  // No metadata and a fully symbolic output: only the probe inference settles the layout.
  'yolov5n_fp16_dynbatch_640.onnx': [XOC, 'probe', 'coco80', 640, 'default', true, true, false, 1, 'float16', 12, [1, 25200, 85], '85d7f6b1c463'],
  'yolov5n_fp16_256.onnx': [XOC, 'output shape', 'metadata', 256, 'input shape', false, false, false, 1, 'float16', 17, [1, 4032, 85], 'cda141ef759c'],
  'yolov5n_int8_640_multiout.onnx': [XOC, 'output shape', 'coco80', 640, 'input shape', false, false, false, 4, 'float32', 13, [1, 25200, 85], '33ab7a4a3e7d'],
  'yolov5n_int8_320_multiout.onnx': [XOC, 'output shape', 'coco80', 320, 'input shape', false, false, false, 4, 'float32', 13, [1, 6300, 85], 'd7ba21448f10'],
  'yolov10n_int8_e2e_640.onnx': [E2E, 'metadata', 'metadata', 640, 'input shape', false, false, true, 1, 'float32', 17, [1, 300, 6], 'c210371d7793'],
  'yolo26n_int8_e2e_640.onnx': [E2E, 'metadata', 'metadata', 640, 'input shape', false, false, true, 1, 'float32', 20, [1, 300, 6], '912af18b3084'],
};

describe('inspect: every model in ../shared/models', () => {
  test('the folder holds exactly the twelve detection models listed here', (t) => {
    if (!requireShared(t)) return;
    assert.deepEqual(fs.readdirSync(modelsDir).filter((f) => f.endsWith('.onnx') && !NON_DETECT_MODEL.test(f)).sort(), Object.keys(MODELS).sort());
  });

  for (const [file, [layout, layoutSource, namesSource, size, imgszSource, dynBatch, dynSpatial, end2end, nOutputs, dtype, opset, probeDims, sha]] of Object.entries(MODELS)) {
    test(file, async (t) => {
      if (!requireShared(t)) return;
      const r = await inspectModel(path.join(modelsDir, file));
      // The JSON form is what --json prints: it must survive serialisation unchanged.
      assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
      assert.equal(r.schema, 1);
      assert.equal(r.usable, true);
      assert.equal(r.error, null);
      assert.ok(r.model.sha256.startsWith(sha), r.model.sha256);
      assert.equal(r.model.size_bytes, fs.statSync(path.join(modelsDir, file)).size);
      assert.equal(r.layout.name, layout);
      assert.equal(r.layout.source, layoutSource);
      assert.equal(r.classes.count, 80);
      assert.equal(r.classes.names.length, 80);
      assert.equal(r.classes.names[0], 'person');
      assert.equal(r.classes.names[79], 'toothbrush');
      assert.equal(r.classes.source, namesSource);
      assert.deepEqual(r.imgsz, [size, size]);
      assert.equal(r.imgsz_source, imgszSource);
      assert.equal(r.stride, 32);
      assert.equal(r.batch.dynamic, dynBatch);
      assert.equal(r.spatial.dynamic, dynSpatial);
      assert.equal(r.end2end, end2end);
      assert.equal(r.outputs.length, nOutputs);
      assert.deepEqual(r.outputs.map((o) => o.role), ['detections', ...Array(nOutputs - 1).fill('ignored')]);
      assert.equal(r.inputs.length, 1);
      assert.equal(r.inputs[0].name, 'images');
      assert.equal(r.inputs[0].dtype, dtype);
      assert.equal(r.onnx.opset, opset);
      assert.equal(r.probe.ran, true);
      assert.equal(r.probe.ok, true, r.probe.error);
      assert.equal(r.probe.device, 'cpu');
      assert.deepEqual(r.probe.input_dims, [1, 3, size, size]);
      assert.deepEqual(r.probe.output_dims, probeDims);
      assert.equal(inspectExitCode(r), 0);
    });
  }

  test('a dynamic input size that the graph cannot take fails the probe (exit 1)', async (t) => {
    if (!requireShared(t)) return;
    // This export declares symbolic H/W but has its anchor grid baked in for 640.
    const r = await inspectModel(path.join(modelsDir, 'yolov5n_fp16_dynbatch_640.onnx'), { imgsz: [320, 320] });
    assert.equal(r.usable, true);
    assert.equal(r.imgsz_source, '--imgsz');
    assert.equal(r.probe.ok, false);
    assert.deepEqual(r.probe.input_dims, [1, 3, 320, 320]);
    assert.match(r.probe.error, /fails on a 1×3×320×320 input/);
    assert.equal(r.layout.source, 'guess');
    assert.equal(inspectExitCode(r), 1);
    assert.match(formatInspectText(r), /\nprobe +FAILED on cpu with \[1, 3, 320, 320\]: /);
  });
});

// ---------------------------------------------------------------------------------------------
describe('inspect: synthetic models', () => {
  test('a fixed 64x64 two-class model: every field', async () => {
    const file = path.join(tmp, 'two-class.onnx');
    const metadata = ultralyticsMetadata({ imgsz: [64, 64], names: ['cat', 'dog'] });
    const bytes = writeModel(file, { outputDims: [6, 8], values: new Float32Array(48), metadata });
    const r = await inspectModel(file);
    const { providers, auto_order, versions, probe, ...rest } = r;
    assert.deepEqual(rest, {
      schema: 1,
      model: { path: file, size_bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
      onnx: { ir_version: 8, opset: 17, producer: 'onnx-builder', producer_version: '1' },
      inputs: [{ index: 0, name: 'images', dtype: 'float32', shape: [1, 3, 64, 64] }],
      outputs: [{ index: 0, name: 'output0', dtype: 'float32', shape: [1, 6, 8], role: 'detections' }],
      metadata_keys: ['args', 'author', 'batch', 'description', 'end2end', 'imgsz', 'names', 'stride', 'task', 'version'],
      usable: true,
      error: null,
      layout: { name: 'xywh-classes', description: '[B, 4+nc, N]: cx, cy, w, h, class scores (YOLOv8/YOLO11/YOLOv5u); NMS applied', source: 'output shape' },
      classes: { count: 2, source: 'metadata', names: ['cat', 'dog'] },
      imgsz: [64, 64],
      imgsz_source: 'input shape',
      stride: 32,
      task: 'detect',
      kpt_shape: null,
      mask_size: null,
      end2end: false,
      batch: { dynamic: false, dim: 1 },
      spatial: { dynamic: false, dims: [64, 64] },
    });
    assert.deepEqual({ ...probe, ms: 0 }, { ran: true, ok: true, device: 'cpu', input_dims: [1, 3, 64, 64], output_dims: [1, 6, 8], outputs_dims: [[1, 6, 8]], ms: 0, error: null });
    assert.deepEqual(providers.map((p) => p.device), ['cpu', 'cuda', 'tensorrt', 'webgpu']);
    assert.deepEqual(providers[0], { device: 'cpu', bundled: true, usable: true, reason: null });
    assert.equal(auto_order.at(-1), 'cpu');
    assert.equal(versions.yolo_serve, pkgVersion);

    const text = formatInspectText(r).split('\n');
    assert.equal(text[0], `model       ${file} (${(bytes.length / 1e3).toFixed(1)} kB, sha256 ${rest.model.sha256.slice(0, 16)}…)`);
    assert.ok(text.includes('inputs      images   float32  [1, 3, 64, 64]'), text.join('\n'));
    assert.ok(text.includes('outputs     output0  float32  [1, 6, 8]  ← detections'));
    assert.ok(text.includes('classes     2 from metadata: cat, dog'));
    assert.ok(text.includes('imgsz       64x64 (h x w, from input shape)'));
    assert.ok(text.includes('batch       fixed 1: one image per inference call'));
    assert.ok(text.includes('end2end     no (NMS in yolo-serve)'));
  });

  test('a fully dynamic model without metadata: the probe settles the layout; --no-probe leaves a guess', async () => {
    const file = path.join(tmp, 'dynamic.onnx');
    // [B, N, 5+nc] with nc = 2 and N = 10, every dim symbolic.
    writeModel(file, { outputDims: [10, 7], values: new Float32Array(70), batch: 'batch', height: 'height', width: 'width', outputShape: ['batch', 'anchors', 'attrs'] });
    const names = path.join(tmp, 'names.txt');
    fs.writeFileSync(names, 'cat\ndog\n');
    const r = await inspectModel(file, { namesFile: names, imgsz: [96, 128] });
    assert.equal(r.layout.name, 'xywh-obj-classes');
    assert.equal(r.layout.source, 'probe');
    assert.deepEqual(r.classes, { count: 2, source: 'file', names: ['cat', 'dog'] });
    assert.deepEqual(r.imgsz, [96, 128]);
    assert.equal(r.imgsz_source, '--imgsz');
    assert.deepEqual(r.batch, { dynamic: true, dim: 'batch' });
    assert.deepEqual(r.spatial, { dynamic: true, dims: ['height', 'width'] });
    assert.equal(r.task, 'detect', 'no task metadata and nothing else recognised: detect');
    assert.deepEqual(r.probe.input_dims, [1, 3, 96, 128]);
    assert.deepEqual(r.probe.output_dims, [1, 10, 7]);
    assert.deepEqual(r.metadata_keys, []);

    const q = await inspectModel(file, { namesFile: names, probe: false });
    assert.equal(q.layout.source, 'guess');
    assert.equal(q.imgsz_source, 'default');
    assert.deepEqual(q.imgsz, [640, 640]);
    assert.deepEqual(q.probe, { ran: false, ok: null, device: null, input_dims: null, output_dims: null, outputs_dims: null, ms: null, error: null });
    assert.equal(inspectExitCode(q), 0);
    assert.match(formatInspectText(q), /\nlayout +xywh-obj-classes — .* \(a guess: no probe inference settled it\)\n/);
  });

  test('an output that is not what its declared shape says fails the probe', async () => {
    const file = path.join(tmp, 'liar.onnx');
    // Declares [1, 84, 8400] (80 classes) but really gives [1, 6, 8] (2 classes).
    writeModel(file, { outputDims: [6, 8], values: new Float32Array(48), outputShape: [1, 84, 8400] });
    const r = await inspectModel(file, { probe: true });
    assert.equal(r.layout.source, 'output shape');
    assert.equal(r.probe.ok, false);
    assert.deepEqual(r.probe.output_dims, [1, 6, 8]);
    assert.match(r.probe.error, /has 2 classes but 80 class names are known/);
    assert.equal(inspectExitCode(r), 1);
  });

  test('a model yolo-serve cannot run is reported, with its tensors, as unusable (exit 2)', async () => {
    const file = path.join(tmp, 'segment.onnx');
    writeModel(file, { outputDims: [6, 8], values: new Float32Array(48), metadata: ultralyticsMetadata({ extra: { task: 'caption' } }), extraOutputs: [{ name: 'protos', dims: [1, 32, 16, 16] }] });
    const r = await inspectModel(file);
    assert.equal(r.usable, false);
    assert.match(r.error, /says task 'caption', which yolo-serve does not run/);
    assert.equal(r.layout, null);
    assert.equal(r.classes, null);
    assert.equal(r.task, 'caption');
    assert.equal(r.outputs.length, 2);
    assert.equal(r.probe.ran, false);
    assert.equal(inspectExitCode(r), 2);
    assert.match(formatInspectText(r), /\nusable +no: .*task 'caption'/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('CLI', () => {
  test('inspect --json prints the report; text output for a multi-output model', async (t) => {
    if (!requireShared(t)) return;
    const model = path.join(modelsDir, 'yolov5nu_int8_640_multiout.onnx');
    const j = await runCli(['inspect', model, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const r = JSON.parse(j.stdout);
    assert.equal(r.schema, 1);
    assert.equal(r.layout.name, 'xywh-classes');
    assert.equal(r.classes.count, 80);
    assert.deepEqual(r.imgsz, [640, 640]);

    const h = await runCli(['inspect', model, '--no-probe']);
    assert.equal(h.code, 0, h.stderr);
    const lines = h.stdout.split('\n');
    assert.ok(lines.includes('outputs     output0            float32  [1, 84, 8400]  ← detections'), h.stdout);
    assert.ok(lines.includes('            onnx::Reshape_370  float32  [1, 144, 80, 80]  (ignored)'), h.stdout);
    assert.ok(lines.includes('classes     80 from metadata: person, bicycle, car, motorcycle, airplane, …'));
    assert.ok(lines.includes('probe       skipped (--no-probe)'));
    assert.ok(lines.some((l) => /^providers +cpu +available$/.test(l)));
  });

  test('inspect exit codes: 2 for a file that is not ONNX, 2 (with the report) for an unusable model', async () => {
    const notOnnx = path.join(tmp, 'photo.onnx');
    fs.writeFileSync(notOnnx, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]));
    const a = await runCli(['inspect', notOnnx]);
    assert.equal(a.code, 2);
    assert.equal(a.stderr, `yolo-serve: ${notOnnx} is not an ONNX model: it is a JPEG image\n`);

    const seg = path.join(tmp, 'segment-cli.onnx');
    writeModel(seg, { outputDims: [6, 8], values: new Float32Array(48), metadata: ultralyticsMetadata({ extra: { task: 'segment' } }) });
    const b = await runCli(['inspect', seg, '--json']);
    assert.equal(b.code, 2);
    assert.equal(JSON.parse(b.stdout).usable, false);
  });

  test('--version, and --help for the program and each command, with examples', async () => {
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout, `${pkgVersion}\n`);

    const root = await runCli(['--help']);
    assert.equal(root.code, 0);
    assert.match(root.stdout, /\n {2}batch \[options\] <inputs\.\.\.> +detect objects in images/);
    assert.match(root.stdout, /\n {2}inspect \[options\] <model> +show what yolo-serve will do with a model/);
    assert.match(root.stdout, /\nExamples:\n {2}\$ yolo-serve batch .*\n {2}\$ yolo-serve inspect /);

    for (const cmd of ['batch', 'inspect']) {
      const h = await runCli([cmd, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`^Usage: yolo-serve ${cmd} `));
      assert.match(h.stdout, new RegExp(`\\nExamples:\\n {2}\\$ yolo-serve ${cmd} `));
    }
    const batch = await runCli(['batch', '--help']);
    for (const flag of ['--summary <file>', '--no-progress', '--progress-interval <sec>', '-q, --quiet']) assert.ok(batch.stdout.includes(flag), flag);
  });
});
