// Builds tiny, real ONNX detection models whose output values are known exactly, so tests can
// run them through onnxruntime and check every number. The output does not depend on the image,
// except for an optional per-image term that makes batch order visible:
//
//   output[b] = values + mean(images[b]) * shift        (shape [B, ...outputDims])
//
// Graph (opset 17): [Cast→float] → Shape → Slice[0:1] → Concat(outputDims) → Expand(values)
//                   (+ ReduceMean(axes 1,2,3) → Reshape → Mul(shift) → Add) → [Cast→float16]

import { writeFileSync } from 'node:fs';
import pkg from 'onnx-proto';

const { onnx } = pkg;

const FLOAT = 1;
const INT64 = 7;
const FLOAT16 = 10;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/**
 * @param {object} opts
 * @param {number[]} opts.outputDims    per-image output dims, e.g. [84, 10] for [B, 84, 10]
 * @param {ArrayLike<number>} opts.values  constant output per image, product(outputDims) values (row-major)
 * @param {ArrayLike<number>} [opts.shift] multiplier of mean(images[b]), same size as values
 * @param {number|string} [opts.batch=1]  declared batch dim: a number, or a name ('batch') for dynamic
 * @param {number|string} [opts.height=64]
 * @param {number|string} [opts.width=64]
 * @param {'float32'|'float16'} [opts.dtype='float32']  input and output element type
 * @param {string} [opts.inputName='images']
 * @param {string} [opts.outputName='output0']
 * @param {(number|string|null)[]} [opts.outputShape]  declared output dims (default [batch, ...outputDims]); null = no dim info
 * @param {Record<string,string>} [opts.metadata]  metadata_props
 * @param {{name: string, dims: number[]}[]} [opts.extraOutputs]  zero-filled extra outputs after output 0
 * @param {boolean} [opts.initializersAsInputs=false]  also list every initializer as a graph input (old exporters)
 * @param {number} [opts.opset=17]
 * @param {number} [opts.irVersion=8]
 * @returns {Uint8Array} the serialized ModelProto
 */
export function buildDetectionModel(opts) {
  const {
    outputDims,
    values,
    shift,
    batch = 1,
    height = 64,
    width = 64,
    dtype = 'float32',
    inputName = 'images',
    outputName = 'output0',
    metadata = {},
    extraOutputs = [],
    initializersAsInputs = false,
    opset = 17,
    irVersion = 8,
  } = opts;
  const size = outputDims.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new Error(`values has ${values.length} entries, outputDims need ${size}`);
  if (shift && shift.length !== size) throw new Error(`shift has ${shift.length} entries, outputDims need ${size}`);
  const elemType = dtype === 'float16' ? FLOAT16 : FLOAT;

  const initializers = [
    floatTensor('values', [1, ...outputDims], values),
    int64Tensor('zero', [1], [0]),
    int64Tensor('one', [1], [1]),
    int64Tensor('per_image_dims', [outputDims.length], outputDims),
  ];
  const nodes = [];
  const node = (opType, inputs, outputs, attribute = []) =>
    nodes.push({ opType, input: inputs, output: outputs, name: `${opType}_${nodes.length}`, attribute });

  let x = inputName;
  if (dtype === 'float16') {
    node('Cast', [inputName], ['x'], [{ name: 'to', type: ATTR_INT, i: FLOAT }]);
    x = 'x';
  }
  node('Shape', [x], ['x_shape']);
  node('Slice', ['x_shape', 'zero', 'one'], ['batch_size']);
  node('Concat', ['batch_size', 'per_image_dims'], ['out_shape'], [{ name: 'axis', type: ATTR_INT, i: 0 }]);
  node('Expand', ['values', 'out_shape'], ['expanded']);
  let y = 'expanded';
  if (shift) {
    initializers.push(floatTensor('shift', [1, ...outputDims], shift));
    initializers.push(int64Tensor('mean_shape', [1 + outputDims.length], [-1, ...outputDims.map(() => 1)]));
    node('ReduceMean', [x], ['mean'], [{ name: 'axes', type: ATTR_INTS, ints: [1, 2, 3] }, { name: 'keepdims', type: ATTR_INT, i: 1 }]);
    node('Reshape', ['mean', 'mean_shape'], ['mean_b']);
    node('Mul', ['mean_b', 'shift'], ['shifted']);
    node('Add', ['expanded', 'shifted'], ['y']);
    y = 'y';
  }
  if (dtype === 'float16') node('Cast', [y], [outputName], [{ name: 'to', type: ATTR_INT, i: FLOAT16 }]);
  else node('Identity', [y], [outputName]);

  const outputs = [valueInfo(outputName, elemType, opts.outputShape === undefined ? [batch, ...outputDims] : opts.outputShape)];
  for (const [i, extra] of extraOutputs.entries()) {
    const count = extra.dims.reduce((a, b) => a * b, 1);
    initializers.push(floatTensor(`extra_${i}`, extra.dims, new Float32Array(count)));
    node('Identity', [`extra_${i}`], [extra.name]);
    outputs.push(valueInfo(extra.name, FLOAT, extra.dims));
  }

  const inputs = [valueInfo(inputName, elemType, [batch, 3, height, width])];
  if (initializersAsInputs) {
    for (const t of initializers) inputs.push(valueInfo(t.name, t.dataType, t.dims));
  }

  const model = onnx.ModelProto.fromObject({
    irVersion,
    producerName: 'onnx-builder',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'synthetic_detector', node: nodes, initializer: initializers, input: inputs, output: outputs },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Builds a model (see buildDetectionModel) and writes it to `path`. Returns the bytes. */
export function writeModel(path, opts) {
  const bytes = buildDetectionModel(opts);
  writeFileSync(path, bytes);
  return bytes;
}

/**
 * writeModel options for a 64×64, 3-class model whose one detection tells which image it saw:
 * anchor 0 of a [7, 8] output is class 1 at score 0.9, cy 32, w = h = 8, and
 * cx = 10 + 40 × mean(input). A solid square image of colour (r, g, b) therefore gives
 * cx = colourShiftCx([r, g, b]) in network pixels; batching tests use it to prove that no result
 * is swapped or reordered.
 */
export function colourShiftDetector() {
  const rows = 7;
  const n = 8;
  const values = new Float32Array(rows * n);
  values[0 * n] = 10;
  values[1 * n] = 32;
  values[2 * n] = 8;
  values[3 * n] = 8;
  values[(4 + 1) * n] = 0.9; // class 1
  const shift = new Float32Array(rows * n);
  shift[0] = 40; // cx of anchor 0
  return { outputDims: [rows, n], values, shift, height: 64, width: 64 };
}

/** The network-pixel cx colourShiftDetector reports for a solid image of colour [r, g, b]. */
export const colourShiftCx = ([r, g, b]) => 10 + (40 * (r + g + b)) / 765;

/** Ultralytics-style metadata for a COCO-80 detect model, as Python-literal strings. */
export function ultralyticsMetadata({ imgsz = [640, 640], names = null, end2end = false, extra = {} } = {}) {
  const classNames = names ?? Array.from({ length: 80 }, (_, i) => `class${i}`);
  return {
    description: 'Ultralytics YOLO11n model (synthetic)',
    author: 'Ultralytics',
    version: '8.3.49',
    stride: '32',
    task: 'detect',
    batch: '1',
    imgsz: `[${imgsz.join(', ')}]`,
    names: `{${classNames.map((n, i) => `${i}: ${pyRepr(n)}`).join(', ')}}`,
    args: "{'batch': 1, 'half': False, 'dynamic': False, 'simplify': True, 'opset': 17, 'nms': False}",
    end2end: end2end ? 'True' : 'False',
    ...extra,
  };
}

/** Python repr() of a str, as Ultralytics writes names. */
export function pyRepr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), `\\${quote}`).replace(/\n/g, '\\n');
  return quote + body + quote;
}

function floatTensor(name, dims, data) {
  const f32 = Float32Array.from(data);
  return { name, dataType: FLOAT, dims, rawData: new Uint8Array(f32.buffer) };
}

function int64Tensor(name, dims, data) {
  const i64 = BigInt64Array.from(data, (v) => BigInt(v));
  return { name, dataType: INT64, dims, rawData: new Uint8Array(i64.buffer) };
}

function valueInfo(name, elemType, dims) {
  const tensorType = { elemType };
  if (dims !== null) {
    tensorType.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}
