import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import pkg from 'onnx-proto';

import { ProtoReader, ProtobufError } from '../dist/model/protobuf.js';
import { readOnnxHeader, readOnnxFile } from '../dist/model/onnx-file.js';
import { parsePyLiteral, PyLiteralError } from '../dist/model/py-literal.js';
import { COCO80, namesFromMetadata, parseNamesFile } from '../dist/model/names.js';
import { detectLayout, detectLayoutFromRuntimeShape, isEnd2end } from '../dist/model/layout.js';
import { float32ToFloat16Bits, float16BitsToFloat32 } from '../dist/model/fp16.js';
import { resolveModel, ModelError } from '../dist/model/resolve.js';
import { buildDetectionModel, writeModel, ultralyticsMetadata, pyRepr } from './helpers/onnx-builder.js';
import { modelsDir, NON_DETECT_MODEL, requireShared, sharedDir } from './helpers/cli.js';

const { onnx } = pkg;

/** A float32 [1, C, N] model for `C = 4 + nc` with values 0..C*N-1. */
function v8Opts(nc = 2, n = 8, extra = {}) {
  const c = 4 + nc;
  return { outputDims: [c, n], values: Float32Array.from({ length: c * n }, (_, i) => i), ...extra };
}

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-model-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tmpFile(name, contents) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, contents);
  return p;
}

// ---------------------------------------------------------------------------------------------
describe('protobuf reader', () => {
  test('reads varints, int64 and length-delimited fields; skips fixed32/64', () => {
    // field 1 varint 300 (ac 02), field 2 fixed64, field 3 fixed32, field 4 bytes "hi",
    // field 5 varint -1 as int64 (10 bytes), field 6 varint 2^40, field 7 2^56, field 8 -300
    const bytes = Uint8Array.from([
      0x08, 0xac, 0x02,
      0x11, 1, 2, 3, 4, 5, 6, 7, 8,
      0x1d, 1, 2, 3, 4,
      0x22, 0x02, 0x68, 0x69,
      0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20,
      0x38, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
      0x40, 0xd4, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    const r = new ProtoReader(bytes);
    assert.equal(r.readTag(), 0x08);
    assert.equal(r.readVarint(), 300);
    const t2 = r.readTag();
    assert.equal(t2 >>> 3, 2);
    r.skip(t2);
    const t3 = r.readTag();
    assert.equal(t3 & 7, 5);
    r.skip(t3);
    assert.equal(r.readTag(), 0x22);
    assert.equal(r.readString(), 'hi');
    assert.equal(r.readTag(), 0x28);
    assert.equal(r.readInt64(), -1);
    assert.equal(r.readTag(), 0x30);
    assert.equal(r.readVarint(), 2 ** 40);
    assert.equal(r.readTag(), 0x38);
    assert.equal(r.readInt64(), 2 ** 56); // 9 bytes: the BigInt path
    assert.equal(r.readTag(), 0x40);
    assert.equal(r.readInt64(), -300);
    assert.equal(r.done, true);
  });

  test('readBytes returns a view, not a copy', () => {
    const bytes = Uint8Array.from([0x0a, 0x03, 7, 8, 9]);
    const r = new ProtoReader(bytes);
    r.readTag();
    const view = r.readBytes();
    assert.deepEqual([...view], [7, 8, 9]);
    assert.equal(view.buffer, bytes.buffer);
    assert.equal(view.byteOffset, 2);
  });

  test('sub-messages stop at their own end', () => {
    const bytes = Uint8Array.from([0x0a, 0x02, 0x08, 0x05, 0x10, 0x07]);
    const r = new ProtoReader(bytes);
    r.readTag();
    const sub = r.readMessage();
    assert.equal(sub.readTag(), 0x08);
    assert.equal(sub.readVarint(), 5);
    assert.equal(sub.done, true);
    assert.equal(r.readTag(), 0x10);
    assert.equal(r.readVarint(), 7);
  });

  test('errors name the problem and the byte offset', () => {
    const cases = [
      [[0x08, 0x80], /truncated varint at byte 1/],
      [[0x0a, 0x05, 1, 2], /field length 5 runs past the end of its message at byte 1/],
      [[0x0f], /invalid wire type 7 at byte 0/],
      [[0x00], /invalid field number 0 at byte 0/],
      [[0x09, 1, 2, 3], /truncated fixed-width field at byte 1/],
      [[0x0b], /unsupported wire type 3 at byte 1/],
      [[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /varint longer than 10 bytes at byte 1/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(() => {
        const r = new ProtoReader(Uint8Array.from(bytes));
        while (!r.done) r.skip(r.readTag());
      }, (err) => err instanceof ProtobufError && re.test(err.message));
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('readOnnxHeader', () => {
  test('reads producer, versions, metadata and fixed shapes', () => {
    const metadata = { names: "{0: 'a', 1: 'b'}", imgsz: '[64, 64]', __proto__key: 'x' };
    const bytes = buildDetectionModel(v8Opts(2, 8, { metadata }));
    const h = readOnnxHeader(bytes);
    assert.equal(h.irVersion, 8);
    assert.equal(h.opsetVersion, 17);
    assert.equal(h.producerName, 'onnx-builder');
    assert.equal(h.producerVersion, '1');
    assert.deepEqual(h.metadata, metadata);
    assert.deepEqual(h.inputs, [{ name: 'images', elemType: 'float32', shape: [1, 3, 64, 64] }]);
    assert.deepEqual(h.outputs, [{ name: 'output0', elemType: 'float32', shape: [1, 6, 8] }]);
  });

  test('a "__proto__" metadata key is stored as data', () => {
    const bytes = buildDetectionModel(v8Opts(2, 8, { metadata: { ['__proto__']: 'evil' } }));
    const h = readOnnxHeader(bytes);
    assert.equal(Object.getPrototypeOf(h.metadata), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(h.metadata, '__proto__').value, 'evil');
  });

  test('symbolic and missing dims, float16, extra outputs, unknown rank', () => {
    const bytes = buildDetectionModel(
      v8Opts(2, 8, {
        batch: 'batch',
        height: 'height',
        width: null,
        dtype: 'float16',
        outputShape: ['batch', null, 'anchors'],
        extraOutputs: [{ name: 'onnx::Reshape_370', dims: [1, 4, 2, 2] }],
      }),
    );
    const h = readOnnxHeader(bytes);
    assert.deepEqual(h.inputs, [{ name: 'images', elemType: 'float16', shape: ['batch', 3, 'height', null] }]);
    assert.deepEqual(h.outputs, [
      { name: 'output0', elemType: 'float16', shape: ['batch', null, 'anchors'] },
      { name: 'onnx::Reshape_370', elemType: 'float32', shape: [1, 4, 2, 2] },
    ]);
    const noShape = readOnnxHeader(buildDetectionModel(v8Opts(2, 8, { outputShape: null })));
    assert.equal(noShape.outputs[0].shape, null);
  });

  test('initializers listed as graph inputs (old exporters) are excluded', () => {
    const bytes = buildDetectionModel(v8Opts(2, 8, { initializersAsInputs: true, shift: new Float32Array(48) }));
    const raw = onnx.ModelProto.decode(bytes);
    assert.equal(raw.graph.input.length, 7); // images + 6 initializers
    assert.deepEqual(readOnnxHeader(bytes).inputs.map((i) => i.name), ['images']);
  });

  test('non-default-domain opsets do not hide the default one', () => {
    const model = onnx.ModelProto.fromObject({
      irVersion: 6,
      opsetImport: [{ domain: 'com.microsoft', version: 1 }, { domain: '', version: 13 }, { domain: 'ai.onnx.ml', version: 2 }],
      graph: { name: 'g' },
    });
    const h = readOnnxHeader(onnx.ModelProto.encode(model).finish());
    assert.equal(h.opsetVersion, 13);
    assert.deepEqual(h.inputs, []);
  });

  test('bytes that are not an ONNX model fail with the reason', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).jpeg().toBuffer();
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer();
    const valid = buildDetectionModel(v8Opts());
    const noGraph = onnx.ModelProto.encode(onnx.ModelProto.fromObject({ irVersion: 8, producerName: 'x' })).finish();
    const cases = [
      [new Uint8Array(0), /^not an ONNX model: the file is empty$/],
      [jpeg, /JPEG image/],
      [png, /PNG image/],
      [Buffer.from('PK\x03\x04rest of a zip'), /zip archive .*PyTorch/],
      [Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:abc\n'), /Git LFS pointer/],
      [Buffer.from('<!DOCTYPE html><html>'), /HTML/],
      [Buffer.from('hello world, this is text'), /not a valid protobuf message/],
      [valid.subarray(0, valid.length - 20), /not a valid protobuf message/],
      [noGraph, /contains no graph/],
      [Uint8Array.from([0x12, 0x01, 0x61]), /no ir_version/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(() => readOnnxHeader(bytes), (err) => err instanceof ModelError && /not an ONNX model/.test(err.message) && re.test(err.message), String(re));
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('parsePyLiteral', () => {
  test('Ultralytics metadata values', () => {
    assert.deepEqual(parsePyLiteral("{0: 'person', 1: 'bicycle'}"), new Map([[0, 'person'], [1, 'bicycle']]));
    assert.deepEqual(parsePyLiteral('[640, 640]'), [640, 640]);
    assert.equal(parsePyLiteral('32'), 32);
    assert.deepEqual(
      parsePyLiteral("{'batch': 1, 'half': False, 'dynamic': True, 'data': None, 'fraction': 1.0, 'lr': 1e-05}"),
      new Map([['batch', 1], ['half', false], ['dynamic', true], ['data', null], ['fraction', 1], ['lr', 0.00001]]),
    );
  });

  test('nesting, tuples, trailing commas, whitespace', () => {
    assert.deepEqual(parsePyLiteral(" { 'a' : [ 1 , ( 2 , 3 ) , ( 4 , ) , ( ) , ( 5 ) ] , } \n"), new Map([['a', [1, [2, 3], [4], [], 5]]]));
    assert.deepEqual(parsePyLiteral('{}'), new Map());
    assert.deepEqual(parsePyLiteral('[[[]]]'), [[[]]]);
  });

  test('numbers', () => {
    assert.deepEqual(parsePyLiteral('[-2, +3, 0.5, .5, 5., 1e-3, 1.5E+2, -0.25e1]'), [-2, 3, 0.5, 0.5, 5, 0.001, 150, -2.5]);
    const [pinf, ninf, nan] = parsePyLiteral('[inf, -inf, nan]');
    assert.equal(pinf, Infinity);
    assert.equal(ninf, -Infinity);
    assert.ok(Number.isNaN(nan));
  });

  test('strings: both quotes and escapes', () => {
    assert.equal(parsePyLiteral(`"it's"`), "it's");
    assert.equal(parsePyLiteral(`'say \\"hi\\" \\'x\\''`), `say "hi" 'x'`);
    assert.equal(parsePyLiteral(`'a\\nb\\tc\\\\d'`), 'a\nb\tc\\d');
    assert.equal(parsePyLiteral(`'\\x41\\u00e9\\U0001F600\\101\\0'`), 'Aé😀A\0');
    assert.equal(parsePyLiteral(`'\\d'`), '\\d'); // unknown escapes stay verbatim, like Python
    assert.equal(parsePyLiteral(`'café ☕'`), 'café ☕');
    // round trip with the builder's repr()
    for (const s of ["it's", 'say "hi"', `both ' and "`, 'back\\slash']) assert.equal(parsePyLiteral(pyRepr(s)), s);
  });

  test('malformed input throws with the position', () => {
    const cases = [
      ['', 0, /unexpected end of input/],
      ['{0: 1', 5, /expected ',' or '}'/],
      ['{0 1}', 3, /expected ':'/],
      ['[1 2]', 3, /expected ',' or ']'/],
      ["'abc", 0, /unterminated string/],
      ["{0: 'a\nb'}", 4, /unterminated string/],
      ['Tru', 0, /unknown name 'Tru'/],
      ['1e', 0, /invalid number/],
      ['[1] x', 4, /unexpected text after the value/],
      ['{[1]: 2}', 1, /dict keys must be simple values/],
      [`'\\x4'`, 1, /bad \\x escape/],
      ['@', 0, /unexpected character '@'/],
    ];
    for (const [text, position, re] of cases) {
      assert.throws(
        () => parsePyLiteral(text),
        (err) => err instanceof PyLiteralError && err.position === position && re.test(err.message) && err.message.includes(`position ${position}`),
        JSON.stringify(text),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('names', () => {
  test('COCO80 is the Ultralytics list', () => {
    assert.equal(COCO80.length, 80);
    assert.equal(COCO80[0], 'person');
    assert.equal(COCO80[9], 'traffic light');
    assert.equal(COCO80[62], 'tv');
    assert.equal(COCO80[78], 'hair drier');
    assert.equal(COCO80[79], 'toothbrush');
    assert.ok(Object.isFrozen(COCO80));
  });

  test('namesFromMetadata: dict or list', () => {
    assert.deepEqual(namesFromMetadata("{1: 'b', 0: 'a', 2: \"c'd\"}"), ['a', 'b', "c'd"]);
    assert.deepEqual(namesFromMetadata("['x', 'y']"), ['x', 'y']);
    assert.deepEqual(namesFromMetadata("{'0': 'x', '1': 'y'}"), ['x', 'y']);
  });

  test('namesFromMetadata: errors', () => {
    assert.throws(() => namesFromMetadata("{0: 'a', 2: 'c'}"), /no name for class 1 \(ids must run 0..2 without gaps\)/);
    assert.throws(() => namesFromMetadata("{0: 'a', -1: 'z'}"), /key -1 is not a class id/);
    assert.throws(() => namesFromMetadata("{0: 1}"), /name of class 0 is not a string/);
    assert.throws(() => namesFromMetadata("{0: 'a'"), (e) => e instanceof ModelError && /names metadata is invalid: invalid Python literal at position 7/.test(e.message));
    assert.throws(() => namesFromMetadata('42'), /expected a list of names or a mapping/);
  });

  test('parseNamesFile: JSON array and object', () => {
    assert.deepEqual(parseNamesFile('["person", "car"]', 'n.json'), ['person', 'car']);
    assert.deepEqual(parseNamesFile('\uFEFF{"1": "car", "0": "person"}\n', 'n.json'), ['person', 'car']);
    assert.deepEqual(parseNamesFile("{0: 'person', 1: 'car'}", 'n.txt'), ['person', 'car']); // Python literal
  });

  test('parseNamesFile: YAML-style id lines', () => {
    assert.deepEqual(parseNamesFile('0: person\n1: "traffic light"\r\n2: \'it\'\'s\'  # c\n\n', 'n.yaml'), ['person', 'traffic light', "it's"]);
  });

  test('parseNamesFile: Ultralytics dataset yaml', () => {
    const yaml = [
      '# COCO 2017 dataset',
      'path: ../datasets/coco',
      'train: train2017.txt',
      '',
      '# Classes',
      'names:',
      '  0: person',
      '  1: bicycle  # two wheels',
      '',
      '  2: "car"',
      'download: |',
      '  3: not a name',
    ].join('\n');
    assert.deepEqual(parseNamesFile(yaml, 'coco.yaml'), ['person', 'bicycle', 'car']);
    assert.deepEqual(parseNamesFile('nc: 2\nnames: [person, "traffic light"]  # inline\n', 'd.yaml'), ['person', 'traffic light']);
    assert.deepEqual(parseNamesFile("names: {0: person, 1: 'a, b'}\n", 'd.yaml'), ['person', 'a, b']);
    assert.deepEqual(parseNamesFile('names:\n- person\n- car\nval: x\n', 'd.yaml'), ['person', 'car']);
    assert.deepEqual(parseNamesFile('names:\n  - person\n  - car\n', 'd.yaml'), ['person', 'car']);
  });

  test('parseNamesFile: one name per line', () => {
    assert.deepEqual(parseNamesFile('person\n\n  traffic light  \r\n# comment\ncar\n', 'coco.names'), ['person', 'traffic light', 'car']);
  });

  test('parseNamesFile: errors name the file', () => {
    const cases = [
      ['', /^names file f.txt: it is empty$/],
      ['  \n\n', /it is empty/],
      ['# only a comment\n', /contains no class names/],
      ['0: a\n2: c\n', /no name for class 1/],
      ['0: a\n0: b\n', /class 0 is defined twice/],
      ['0: a\nb\n', /line 2: expected 'id: name' but found 'b'/],
      ['names:\n  0: a\n  - b\n', /line 3: mixes 'id: name' lines with '- name' items/],
      ['0: ""\n', /line 1: empty class name/],
      ["0: 'abc\n", /line 1: unterminated quote/],
      ['0: "a" b\n', /unexpected text after the quoted name/],
      ['path: x\ntrain: y\n', /line 1 looks like YAML \('path: x'\) but there is no 'names:' key/],
      ['["a", 3]', /entry 1 is not a string/],
      ['{"a": "b"}', /key "a" is not a class id/],
      ['[1, 2', /invalid JSON/],
      ['names: person', /expected a \[..\] list or \{..\} mapping after 'names:'/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseNamesFile(text, 'f.txt'), (e) => e instanceof ModelError && e.message.startsWith('names file f.txt: ') && re.test(e.message), JSON.stringify(text));
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('layout detection', () => {
  const ultra = { task: 'detect', names: "{0: 'a'}" };

  test('fixed shapes', () => {
    assert.deepEqual(detectLayout([1, 84, 8400], {}), { layout: 'xywh-classes', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout([1, 25200, 85], {}), { layout: 'xywh-obj-classes', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout([1, 300, 6], {}), { layout: 'xyxy-score-class', numClasses: null, pending: false });
    assert.deepEqual(detectLayout([1, 300, 6], {}, 80), { layout: 'xyxy-score-class', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout([1, 5, 2100], {}), { layout: 'xywh-classes', numClasses: 1, pending: false });
    assert.deepEqual(detectLayout([1, 6, 2100], {}), { layout: 'xywh-classes', numClasses: 2, pending: false });
    // a single-class YOLOv5 head is 6 wide too, but has thousands of rows
    assert.deepEqual(detectLayout([1, 6300, 6], {}), { layout: 'xywh-obj-classes', numClasses: 1, pending: false });
  });

  test('metadata: end2end=True or args nms=True', () => {
    const e2e = { end2end: 'True' };
    assert.deepEqual(detectLayout([1, 300, 6], e2e, 80), { layout: 'xyxy-score-class', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout(['batch', 'k', 'c'], e2e), { layout: 'xyxy-score-class', numClasses: null, pending: false });
    assert.deepEqual(detectLayout([1, 2000, 6], e2e).layout, 'xyxy-score-class');
    assert.equal(isEnd2end({ args: "{'nms': True, 'batch': 1}" }), true);
    assert.equal(isEnd2end({ args: "{'nms': False}", end2end: 'False' }), false);
    assert.equal(isEnd2end({ args: '{broken' }), false);
    assert.throws(() => detectLayout([1, 300, 7], e2e), /\[1, 300, 7\] \(the metadata says end2end, which needs 6 columns\)/);
  });

  test('symbolic dims', () => {
    // fixed attribute dim first → channels-first
    assert.deepEqual(detectLayout(['batch', 84, 'anchors'], {}), { layout: 'xywh-classes', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout(['batch', 'anchors', 85], {}), { layout: 'xywh-obj-classes', numClasses: 80, pending: false });
    // [B, ?, 6]: the class count decides
    assert.deepEqual(detectLayout(['batch', 'k', 6], {}, 1), { layout: 'xywh-obj-classes', numClasses: 1, pending: false });
    assert.deepEqual(detectLayout(['batch', 'k', 6], {}, 80), { layout: 'xyxy-score-class', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout(['batch', 'k', 6], {}), { layout: 'xyxy-score-class', numClasses: null, pending: true });
    // all symbolic: Ultralytics metadata (task) → [B, 4+nc, N]; nothing → classic YOLOv5 guess, pending
    assert.deepEqual(detectLayout(['batch', 'd1', 'anchors'], ultra, 80), { layout: 'xywh-classes', numClasses: 80, pending: false });
    assert.deepEqual(detectLayout(['b', null, null], {}), { layout: 'xywh-obj-classes', numClasses: null, pending: true });
    assert.deepEqual(detectLayout(null, {}, 3), { layout: 'xywh-obj-classes', numClasses: 3, pending: true });
  });

  test('unsupported shapes name the shape and the supported layouts', () => {
    for (const [shape, text] of [
      [[1, 3, 80, 80, 85], '[1, 3, 80, 80, 85]'],
      [[1, 8400], '[1, 8400]'],
      [[1, 4, 8400], '[1, 4, 8400]'],
      [[1, 100, 100], '[1, 100, 100]'],
      [[1, 8400, 5], '[1, 8400, 5]'],
      [['b', 3, 'n'], '[b, 3, n]'],
      [['b', 'n', 4], '[b, n, 4]'],
    ]) {
      assert.throws(
        () => detectLayout(shape, {}),
        (e) => e instanceof ModelError && e.message.includes(`unsupported detection output shape ${text}`) && /supported layouts are \[B, 4\+nc, N\].*\[B, N, 5\+nc\].*\[B, K, 6\]/.test(e.message),
        text,
      );
    }
  });

  test('runtime shapes resolve and check the class count', () => {
    assert.deepEqual(detectLayoutFromRuntimeShape([3, 25200, 85], 80, {}), { layout: 'xywh-obj-classes', numClasses: 80 });
    assert.deepEqual(detectLayoutFromRuntimeShape([2, 84, 6300], 80, {}), { layout: 'xywh-classes', numClasses: 80 });
    assert.deepEqual(detectLayoutFromRuntimeShape([1, 300, 6], 80, {}), { layout: 'xyxy-score-class', numClasses: 80 });
    assert.throws(
      () => detectLayoutFromRuntimeShape([1, 25200, 85], 3, {}),
      /output \[1, 25200, 85\] \(xywh-obj-classes\) has 80 classes but 3 class names are known; pass --names/,
    );
    assert.throws(() => detectLayoutFromRuntimeShape([1, 1, 1, 1], 80, {}), /unsupported detection output shape \[1, 1, 1, 1\]/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('fp16', () => {
  const enc = (...xs) => [...float32ToFloat16Bits(Float32Array.from(xs))];
  const dec = (...hs) => [...float16BitsToFloat32(Uint16Array.from(hs))];

  test('encodes exact values', () => {
    assert.deepEqual(enc(0, -0, 1, -2, 0.5, 65504, -65504), [0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0xfbff]);
    assert.deepEqual(enc(Infinity, -Infinity, 1e10, -1e10), [0x7c00, 0xfc00, 0x7c00, 0xfc00]);
    assert.deepEqual(enc(65519, 65520, 65536), [0x7bff, 0x7c00, 0x7c00]); // 65520 is the tie that rounds to inf
    assert.deepEqual(enc(NaN), [0x7e00]);
  });

  test('subnormals and the boundary', () => {
    assert.deepEqual(enc(2 ** -14, 6.1e-5, 2 ** -24, 5.96e-8, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -25, 2 ** -26), [
      0x0400, // smallest normal 6.103515625e-5
      0x03ff, // 6.1e-5 is just below it: 1023.4 × 2^-24 → 1023
      0x0001, // smallest subnormal
      0x0001, // 5.96e-8 rounds up to 2^-24
      0x0000, // exactly half the smallest subnormal: tie → even (0)
      0x0001,
      0x0002, // 1.5 units: tie → even (2)
      0x0000,
    ]);
    assert.deepEqual(enc(-(2 ** -24), 1023.5 * 2 ** -24), [0x8001, 0x0400]); // rounding up into the normals
  });

  test('ties round to even', () => {
    assert.deepEqual(enc(1 + 2 ** -11, 1 + 3 * 2 ** -11, 2049, 2051, 2050), [0x3c00, 0x3c02, 0x6800, 0x6802, 0x6801]);
    assert.deepEqual(enc(1 + 2 ** -11 + 2 ** -20), [0x3c01]); // just above the tie
  });

  test('decodes exact values', () => {
    assert.deepEqual(dec(0x3c00, 0xc000, 0x7bff, 0x0400, 0x03ff, 0x0001, 0x8001, 0x8000), [1, -2, 65504, 2 ** -14, 1023 * 2 ** -24, 2 ** -24, -(2 ** -24), -0]);
    assert.deepEqual(dec(0x7c00, 0xfc00), [Infinity, -Infinity]);
    assert.ok(Number.isNaN(dec(0x7e00)[0]));
    assert.ok(Number.isNaN(dec(0x7c01)[0]));
  });

  test('every half value round-trips through float32', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const back = float32ToFloat16Bits(float16BitsToFloat32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) assert.equal(back[h] & 0x7fff, 0x7e00);
      else if (back[h] !== h) assert.fail(`0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  test('matches a reference rounding on random floats', () => {
    // Reference: scale to units of the half ulp (exact in doubles), round half to even.
    const reference = (x) => {
      const a = Math.abs(x);
      if (a >= 65520) return Math.sign(x) * Infinity;
      let e = Math.max(Math.floor(Math.log2(a)), -14);
      while (e > -14 && 2 ** e > a) e--;
      while (2 ** (e + 1) <= a) e++;
      const ulp = 2 ** (e - 10);
      const q = a / ulp;
      const f = Math.floor(q);
      const r = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
      return Math.sign(x) * r * ulp;
    };
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const src = new Float32Array(20000);
    const bits = new Uint32Array(src.buffer);
    for (let i = 0; i < src.length; i++) {
      // exponents spread over the half range and around it; low mantissa bits often zero to hit ties
      const exp = 90 + Math.floor(rand() * 60);
      const mant = Math.floor(rand() * 2 ** 23) & (i % 3 === 0 ? 0x7fe000 | 0x1000 : 0x7fffff);
      bits[i] = (rand() < 0.5 ? 0x80000000 : 0) | (exp << 23) | mant;
    }
    const out = float16BitsToFloat32(float32ToFloat16Bits(src));
    for (let i = 0; i < src.length; i++) {
      if (!Object.is(out[i], reference(src[i])) && !(out[i] === 0 && reference(src[i]) === 0)) {
        assert.fail(`${src[i]} → ${out[i]}, expected ${reference(src[i])}`);
      }
    }
  });

  test('writes into a given destination and checks its size', () => {
    const dst = new Uint16Array(4);
    assert.equal(float32ToFloat16Bits(Float32Array.of(1, 2), dst), dst);
    assert.deepEqual([...dst], [0x3c00, 0x4000, 0, 0]);
    const f = new Float32Array(3);
    assert.equal(float16BitsToFloat32(Uint16Array.of(0x3c00), f), f);
    assert.deepEqual([...f], [1, 0, 0]);
    assert.throws(() => float32ToFloat16Bits(new Float32Array(3), new Uint16Array(2)), RangeError);
    assert.throws(() => float16BitsToFloat32(new Uint16Array(3), new Float32Array(2)), RangeError);
    // views with an offset into a larger buffer
    const big = new Float32Array([9, 1, -2]);
    assert.deepEqual([...float32ToFloat16Bits(big.subarray(1))], [0x3c00, 0xc000]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('synthetic models run in onnxruntime with exact outputs', () => {
  const quiet = { logSeverityLevel: 3 };
  const layouts = {
    'xywh-classes': [6, 8], // [B, 4+2, 8]
    'xywh-obj-classes': [10, 7], // [B, 10, 5+2]
    'xyxy-score-class': [5, 6], // [B, 5, 6]
  };

  /** Images whose per-image mean is b+1 (constant fill), for batch b. */
  function images(batch, h, w, dtype) {
    const per = 3 * h * w;
    const data = dtype === 'float16' ? new Uint16Array(batch * per) : new Float32Array(batch * per);
    for (let b = 0; b < batch; b++) {
      const v = dtype === 'float16' ? float32ToFloat16Bits(Float32Array.of(b + 1))[0] : b + 1;
      data.fill(v, b * per, (b + 1) * per);
    }
    return new ort.Tensor(dtype, data, [batch, 3, h, w]);
  }

  for (const [layout, dims] of Object.entries(layouts)) {
    for (const dtype of ['float32', 'float16']) {
      test(`${layout} ${dtype}: batch 1 and 3, batch order visible`, async () => {
        const size = dims[0] * dims[1];
        // halves and small integers: exact in float16 too
        const values = Float32Array.from({ length: size }, (_, i) => (i - 20) / 2);
        const shift = Float32Array.from({ length: size }, (_, i) => (i % 3) - 1);
        const bytes = buildDetectionModel({ outputDims: dims, values, shift, batch: 'batch', height: 'h', width: 'w', dtype });
        const session = await ort.InferenceSession.create(bytes, quiet);
        assert.deepEqual(session.inputNames, ['images']);
        assert.deepEqual(session.outputNames, ['output0']);
        for (const batch of [1, 3]) {
          const out = (await session.run({ images: images(batch, 16, 24, dtype) })).output0;
          assert.deepEqual(out.dims, [batch, ...dims]);
          assert.equal(out.type, dtype);
          const got = dtype === 'float16' ? float16BitsToFloat32(out.data) : out.data;
          for (let b = 0; b < batch; b++) {
            for (let i = 0; i < size; i++) {
              const want = values[i] + (b + 1) * shift[i];
              if (got[b * size + i] !== want) assert.fail(`b=${b} i=${i}: ${got[b * size + i]} !== ${want}`);
            }
          }
        }
        await session.release();
      });
    }
  }

  test('fixed batch 1 without shift returns the constants; extra outputs are zeros', async () => {
    const values = Float32Array.from({ length: 84 * 3 }, (_, i) => i * 0.25 - 7);
    const bytes = buildDetectionModel({
      outputDims: [84, 3],
      values,
      height: 32,
      width: 32,
      outputName: 'output0',
      extraOutputs: [{ name: 'onnx::Reshape_370', dims: [1, 144, 2, 2] }],
    });
    const session = await ort.InferenceSession.create(bytes, quiet);
    const r = await session.run({ images: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.7), [1, 3, 32, 32]) });
    assert.deepEqual(r.output0.dims, [1, 84, 3]);
    assert.deepEqual([...r.output0.data], [...values]);
    assert.deepEqual(r['onnx::Reshape_370'].dims, [1, 144, 2, 2]);
    assert.ok(r['onnx::Reshape_370'].data.every((v) => v === 0));
    await session.release();
  });
});

// ---------------------------------------------------------------------------------------------
describe('resolveModel on synthetic models', () => {
  test('fixed Ultralytics model', async () => {
    const names = ['cat', "it's", 'dog'];
    const p = path.join(tmp, 'fixed.onnx');
    writeModel(p, v8Opts(3, 8, { height: 96, width: 128, metadata: ultralyticsMetadata({ imgsz: [96, 128], names }) }));
    const info = await resolveModel(p, {});
    assert.deepEqual(info, {
      path: p,
      inputName: 'images',
      inputType: 'float32',
      inputShape: [1, 3, 96, 128],
      outputName: 'output0',
      outputType: 'float32',
      outputShape: [1, 7, 8],
      layout: 'xywh-classes',
      names,
      namesSource: 'metadata',
      imgsz: [96, 128],
      stride: 32,
      task: 'detect',
      taskLayout: { task: 'detect', layout: 'xywh-classes', numClasses: 3, pending: false, outputs: [{ name: 'output0', role: 'detections' }], extra: 0, kptShape: null, maskSize: null },
      end2end: false,
      dynamicBatch: false,
      dynamicSpatial: false,
      metadata: ultralyticsMetadata({ imgsz: [96, 128], names }),
      numClasses: 3,
      layoutPending: false,
    });
    // an --imgsz that agrees (after rounding to the stride) is accepted
    assert.deepEqual((await resolveModel(p, { imgsz: [96, 120] })).imgsz, [96, 128]);
  });

  test('--imgsz conflicting with a fixed input is an error', async () => {
    const p = path.join(tmp, 'fixed640.onnx');
    writeModel(p, v8Opts(80, 8, { height: 640, width: 640 }));
    await assert.rejects(
      resolveModel(p, { imgsz: 320 }),
      (e) => e instanceof ModelError && e.message === `imgsz 320x320 (height x width) conflicts with the fixed input size 640x640 of ${p}; omit --imgsz for this model`,
    );
    await assert.rejects(resolveModel(p, { imgsz: 0 }), /invalid imgsz 0: expected a positive integer or \[height, width\]/);
    await assert.rejects(resolveModel(p, { imgsz: [640, 640.5] }), /invalid imgsz/);
  });

  test('dynamic spatial input: --imgsz, metadata imgsz, 640; rounded up to the stride', async () => {
    const dyn = { batch: 'batch', height: 'height', width: 'width', outputShape: ['batch', 84, 'anchors'] };
    const p = path.join(tmp, 'dyn.onnx');
    writeModel(p, v8Opts(80, 8, dyn));
    const info = await resolveModel(p, {});
    assert.deepEqual([info.imgsz, info.dynamicBatch, info.dynamicSpatial, info.layout, info.namesSource], [[640, 640], true, true, 'xywh-classes', 'coco80']);
    assert.deepEqual(info.names, [...COCO80]);
    assert.deepEqual((await resolveModel(p, { imgsz: 500 })).imgsz, [512, 512]);
    assert.deepEqual((await resolveModel(p, { imgsz: [480, 641] })).imgsz, [480, 672]);
    const pm = path.join(tmp, 'dyn-meta.onnx');
    writeModel(pm, v8Opts(80, 8, { ...dyn, metadata: { imgsz: '[416, 300]', stride: '64' } }));
    const m = await resolveModel(pm, {});
    assert.deepEqual([m.imgsz, m.stride], [[448, 320], 64]);
  });

  test('fully symbolic output without metadata: layout decided at run time', async () => {
    const p = path.join(tmp, 'v5dyn.onnx');
    writeModel(p, { outputDims: [100, 85], values: new Float32Array(100 * 85), batch: 'batch', height: 'height', width: 'width', dtype: 'float16', outputName: 'output', outputShape: ['batch', 'd1', 'd2'] });
    const info = await resolveModel(p, {});
    assert.deepEqual(
      [info.inputType, info.outputType, info.layout, info.layoutPending, info.numClasses, info.namesSource, info.end2end, info.task, info.stride],
      ['float16', 'float16', 'xywh-obj-classes', true, null, 'coco80', false, 'detect', 32],
    );
    assert.deepEqual(detectLayoutFromRuntimeShape([2, 100, 85], info.names.length, info.metadata), { layout: 'xywh-obj-classes', numClasses: 80 });
  });

  test('end-to-end model from metadata', async () => {
    const p = path.join(tmp, 'e2e.onnx');
    writeModel(p, { outputDims: [300, 6], values: new Float32Array(1800), height: 640, width: 640, metadata: ultralyticsMetadata({ end2end: true }) });
    const info = await resolveModel(p, {});
    assert.deepEqual([info.layout, info.end2end, info.numClasses, info.names.length], ['xyxy-score-class', true, 80, 80]);
  });

  test('names: file wins over metadata; counts must match the output', async () => {
    const p = path.join(tmp, 'names.onnx');
    writeModel(p, v8Opts(2, 8, { metadata: { names: "{0: 'meta0', 1: 'meta1'}" } }));
    const nf = tmpFile('two.names', 'alpha\nbeta\n');
    const info = await resolveModel(p, { namesFile: nf });
    assert.deepEqual([info.names, info.namesSource], [['alpha', 'beta'], 'file']);
    assert.deepEqual((await resolveModel(p, {})).names, ['meta0', 'meta1']);

    const three = tmpFile('three.names', 'a\nb\nc\n');
    await assert.rejects(resolveModel(p, { namesFile: three }), (e) => e instanceof ModelError && e.message === `names file ${three} has 3 names but the model ${p} outputs 2 classes (output shape [1, 6, 8])`);
    await assert.rejects(resolveModel(p, { namesFile: path.join(tmp, 'nope.names') }), (e) => e.message === `names file not found: ${path.join(tmp, 'nope.names')}`);
    await assert.rejects(resolveModel(p, { namesFile: tmpFile('bad.names', '0: a\n2: c\n') }), /names file .*bad.names: no name for class 1/);

    const bad = path.join(tmp, 'badmeta.onnx');
    writeModel(bad, v8Opts(2, 8, { metadata: { names: "{0: 'a', 1: 'b', 2: 'c'}" } }));
    await assert.rejects(resolveModel(bad, {}), (e) => e.message === `the model ${bad} outputs 2 classes (output shape [1, 6, 8]) but its names metadata lists 3 names`);
    writeModel(bad, v8Opts(2, 8, { metadata: { names: "{0: 'a', 2: 'c'}" } }));
    await assert.rejects(resolveModel(bad, {}), (e) => e.message.startsWith(`${bad}: the model's names metadata is invalid: no name for class 1`) && e.message.endsWith('pass --names FILE to override it'));

    const noMeta = path.join(tmp, 'nometa3.onnx');
    writeModel(noMeta, v8Opts(3, 8));
    await assert.rejects(resolveModel(noMeta, {}), (e) => e.message === `the model ${noMeta} outputs 3 classes (output shape [1, 7, 8]) and has no names metadata; pass --names FILE with 3 names`);
  });

  test('unsupported models', async () => {
    const seg = path.join(tmp, 'seg.onnx');
    writeModel(seg, v8Opts(2, 8, { metadata: { task: 'segment' } }));
    await assert.rejects(resolveModel(seg, {}), (e) => e.message === `${seg}: a segmentation model needs a second output (the mask prototypes [B, nm, mh, mw]); this one has one output`);
    const other = path.join(tmp, 'caption.onnx');
    writeModel(other, v8Opts(2, 8, { metadata: { task: 'caption' } }));
    await assert.rejects(resolveModel(other, {}), (e) => e.message.startsWith(`${other}: its metadata says task 'caption', which yolo-serve does not run (supported: detect`));

    const raw = path.join(tmp, 'raw.onnx');
    writeModel(raw, { outputDims: [3, 4, 4, 85], values: new Float32Array(3 * 4 * 4 * 85) });
    await assert.rejects(resolveModel(raw, {}), (e) => e.message.startsWith(`${raw}: output 'output0': unsupported detection output shape [1, 3, 4, 4, 85]`));

    const u8 = path.join(tmp, 'u8.onnx');
    const model = onnx.ModelProto.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [{ name: 'img', type: { tensorType: { elemType: 2, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }] } } } }],
        output: [{ name: 'out', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 84 }, { dimValue: 10 }] } } } }],
      },
    });
    fs.writeFileSync(u8, onnx.ModelProto.encode(model).finish());
    await assert.rejects(resolveModel(u8, {}), (e) => e.message === `${u8}: input 'img' has element type uint8; only float32 and float16 are supported`);

    const nhwc = path.join(tmp, 'nhwc.onnx');
    model.graph.input[0].type.tensorType = { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 8 }, { dimValue: 8 }, { dimValue: 3 }] } };
    fs.writeFileSync(nhwc, onnx.ModelProto.encode(model).finish());
    await assert.rejects(resolveModel(nhwc, {}), (e) => e.message === `${nhwc}: input 'img' has shape [1, 8, 8, 3]; expected an NCHW image tensor [N, 3, H, W]`);
  });

  test('file errors', async () => {
    const missing = path.join(tmp, 'missing.onnx');
    await assert.rejects(resolveModel(missing, {}), (e) => e instanceof ModelError && e.message === `model file not found: ${missing}`);
    const empty = tmpFile('empty.onnx', '');
    await assert.rejects(resolveModel(empty, {}), (e) => e.message === `${empty} is not an ONNX model: the file is empty`);
    const jpeg = tmpFile('photo.onnx', await sharp({ create: { width: 4, height: 4, channels: 3, background: 'blue' } }).jpeg().toBuffer());
    await assert.rejects(resolveModel(jpeg, {}), (e) => e.message === `${jpeg} is not an ONNX model: it is a JPEG image`);
    await assert.rejects(readOnnxFile(tmp), (e) => e.message === `model path is a directory, not a file: ${tmp}`);
  });

  test('unreadable file', async (t) => {
    if (process.getuid?.() === 0) return t.skip('running as root: permissions are not enforced');
    const p = path.join(tmp, 'locked.onnx');
    writeModel(p, v8Opts());
    fs.chmodSync(p, 0o000);
    await assert.rejects(resolveModel(p, {}), (e) => e.message.startsWith(`cannot read model ${p}: EACCES`));
  });
});

// ---------------------------------------------------------------------------------------------
describe('resolveModel on the real models', () => {
  // file: [inputType, inputShape, outputName, outputShape, layout, imgsz, dynamicBatch, dynamicSpatial, namesSource, end2end, layoutPending]
  const expected = {
    'yolov8n_int8_416.onnx': ['float32', [1, 3, 416, 416], 'output0', [1, 84, 3549], 'xywh-classes', [416, 416], false, false, 'metadata', false, false],
    'yolov8n_int8_dynamic.onnx': ['float32', ['batch', 3, 'height', 'width'], 'output0', ['batch', 'Concatoutput0_dim_1', 'anchors'], 'xywh-classes', [640, 640], true, true, 'metadata', false, false],
    'yolov8n_int8_640.onnx': ['float32', [1, 3, 640, 640], 'output0', [1, 84, 8400], 'xywh-classes', [640, 640], false, false, 'metadata', false, false],
    'yolo11n_int8_640.onnx': ['float32', [1, 3, 640, 640], 'output0', [1, 84, 8400], 'xywh-classes', [640, 640], false, false, 'metadata', false, false],
    'yolo11n_int8_320.onnx': ['float32', [1, 3, 320, 320], 'output0', [1, 84, 2100], 'xywh-classes', [320, 320], false, false, 'metadata', false, false],
    'yolov5nu_int8_640_multiout.onnx': ['float32', [1, 3, 640, 640], 'output0', [1, 84, 8400], 'xywh-classes', [640, 640], false, false, 'metadata', false, false],
    'yolov5n_fp16_dynbatch_640.onnx': ['float16', ['batch', 3, 'height', 'width'], 'output', ['batch', 'Concatoutput_dim_1', 'Concatoutput_dim_2'], 'xywh-obj-classes', [640, 640], true, true, 'coco80', false, true],
    'yolov5n_fp16_256.onnx': ['float16', [1, 3, 256, 256], 'output0', [1, 4032, 85], 'xywh-obj-classes', [256, 256], false, false, 'metadata', false, false],
    'yolov5n_int8_640_multiout.onnx': ['float32', [1, 3, 640, 640], 'output', [1, 25200, 85], 'xywh-obj-classes', [640, 640], false, false, 'coco80', false, false],
    'yolov5n_int8_320_multiout.onnx': ['float32', [1, 3, 320, 320], 'output', [1, 6300, 85], 'xywh-obj-classes', [320, 320], false, false, 'coco80', false, false],
    'yolov10n_int8_e2e_640.onnx': ['float32', [1, 3, 640, 640], 'output0', [1, 300, 6], 'xyxy-score-class', [640, 640], false, false, 'metadata', true, false],
    'yolo26n_int8_e2e_640.onnx': ['float32', [1, 3, 640, 640], 'output0', [1, 300, 6], 'xyxy-score-class', [640, 640], false, false, 'metadata', true, false],
  };

  test('all 12 detection models resolve as documented in ASSETS.md', async (t) => {
    if (!requireShared(t)) return;
    assert.deepEqual(fs.readdirSync(modelsDir).filter((f) => f.endsWith('.onnx') && !NON_DETECT_MODEL.test(f)).sort(), Object.keys(expected).sort());
    for (const [file, want] of Object.entries(expected)) {
      const info = await resolveModel(path.join(modelsDir, file), {});
      const got = [info.inputType, info.inputShape, info.outputName, info.outputShape, info.layout, info.imgsz, info.dynamicBatch, info.dynamicSpatial, info.namesSource, info.end2end, info.layoutPending];
      assert.deepEqual(got, want, file);
      assert.deepEqual(info.names, [...COCO80], `${file}: names`);
      assert.equal(info.inputName, 'images', file);
      assert.equal(info.stride, 32, file);
    }
  });

  test('metadata names equal COCO80; the parser agrees with onnx-proto', async (t) => {
    if (!requireShared(t)) return;
    for (const file of Object.keys(expected)) {
      const bytes = fs.readFileSync(path.join(modelsDir, file));
      const h = readOnnxHeader(bytes);
      const ref = onnx.ModelProto.decode(bytes);
      const refDims = (vi) => vi.type.tensorType.shape.dim.map((d) => d.dimParam || (d.dimValue != null ? Number(d.dimValue) : null));
      const inits = new Set(ref.graph.initializer.map((i) => i.name));
      assert.equal(h.irVersion, Number(ref.irVersion), file);
      assert.equal(h.producerName, ref.producerName, file);
      assert.deepEqual(h.metadata, Object.fromEntries(ref.metadataProps.map((p) => [p.key, p.value])), file);
      assert.deepEqual(h.inputs.map((i) => [i.name, i.shape]), ref.graph.input.filter((i) => !inits.has(i.name)).map((i) => [i.name, refDims(i)]), file);
      assert.deepEqual(h.outputs.map((o) => [o.name, o.shape]), ref.graph.output.map((o) => [o.name, refDims(o)]), file);
      if (h.metadata.names) assert.deepEqual(namesFromMetadata(h.metadata.names), [...COCO80], file);
    }
    // yolov8n_int8_dynamic's metadata claims a fixed 640 although the graph is dynamic
    const dyn = readOnnxHeader(fs.readFileSync(path.join(modelsDir, 'yolov8n_int8_dynamic.onnx')));
    assert.deepEqual([dyn.metadata.imgsz, dyn.metadata.batch], ['[640, 640]', '1']);
    // the multi-output exports list 4 outputs; detections are output 0
    const multi = readOnnxHeader(fs.readFileSync(path.join(modelsDir, 'yolov5n_int8_640_multiout.onnx')));
    assert.deepEqual(multi.outputs.map((o) => o.name), ['output', '350', '416', '482']);
    assert.equal(multi.opsetVersion, 13);
  });

  test('dynamic models take another --imgsz; fixed ones reject it', async (t) => {
    if (!requireShared(t)) return;
    assert.deepEqual((await resolveModel(path.join(modelsDir, 'yolov8n_int8_dynamic.onnx'), { imgsz: [480, 640] })).imgsz, [480, 640]);
    await assert.rejects(resolveModel(path.join(modelsDir, 'yolo11n_int8_320.onnx'), { imgsz: 640 }), /conflicts with the fixed input size 320x320/);
    const bus = path.join(sharedDir, 'images', 'samples', 'bus.jpg');
    await assert.rejects(resolveModel(bus, {}), (e) => e.message === `${bus} is not an ONNX model: it is a JPEG image`);
  });
});
