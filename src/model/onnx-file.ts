// Reads the parts of an ONNX ModelProto that onnxruntime-node does not expose (metadata_props,
// producer, opset) plus the graph's declared inputs and outputs. Weights are skipped, not decoded.

import { readFile } from 'node:fs/promises';
import type { Dim } from '../types.js';
import { ModelError } from './errors.js';
import { ProtoReader, ProtobufError, WIRE_LEN, WIRE_VARINT, fieldTag } from './protobuf.js';

/** A graph input or output as declared in the model. */
export interface ValueInfo {
  name: string;
  /** 'float32', 'float16', 'int64', … ; 'sequence'/'map'/… for non-tensor values; 'undefined' when unset. */
  elemType: string;
  /** Declared dims; null when the model declares no shape (unknown rank). */
  shape: Dim[] | null;
}

export interface OnnxHeader {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Opset of the default ('' or 'ai.onnx') domain; null when not imported. */
  opsetVersion: number | null;
  /** metadata_props, key → value. */
  metadata: Record<string, string>;
  /** Graph inputs that are not initializers (old exporters also list every weight as an input). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** Raised when bytes are not an ONNX model; `reason` says why, without the "not an ONNX model" prefix. */
export class NotOnnxError extends ModelError {
  constructor(readonly reason: string) {
    super(`not an ONNX model: ${reason}`);
    this.name = 'NotOnnxError';
  }
}

// Field tags (field number + wire type) of the few onnx.proto fields we read.
const MODEL_IR_VERSION = fieldTag(1, WIRE_VARINT);
const MODEL_PRODUCER_NAME = fieldTag(2, WIRE_LEN);
const MODEL_PRODUCER_VERSION = fieldTag(3, WIRE_LEN);
const MODEL_GRAPH = fieldTag(7, WIRE_LEN);
const MODEL_OPSET_IMPORT = fieldTag(8, WIRE_LEN);
const MODEL_METADATA_PROPS = fieldTag(14, WIRE_LEN);
const OPSET_DOMAIN = fieldTag(1, WIRE_LEN);
const OPSET_VERSION = fieldTag(2, WIRE_VARINT);
const ENTRY_KEY = fieldTag(1, WIRE_LEN);
const ENTRY_VALUE = fieldTag(2, WIRE_LEN);
const GRAPH_INITIALIZER = fieldTag(5, WIRE_LEN);
const GRAPH_INPUT = fieldTag(11, WIRE_LEN);
const GRAPH_OUTPUT = fieldTag(12, WIRE_LEN);
const GRAPH_SPARSE_INITIALIZER = fieldTag(15, WIRE_LEN);
const TENSOR_NAME = fieldTag(8, WIRE_LEN);
const SPARSE_TENSOR_VALUES = fieldTag(1, WIRE_LEN);
const VALUE_INFO_NAME = fieldTag(1, WIRE_LEN);
const VALUE_INFO_TYPE = fieldTag(2, WIRE_LEN);
const TYPE_TENSOR = fieldTag(1, WIRE_LEN);
const TYPE_SEQUENCE = fieldTag(4, WIRE_LEN);
const TYPE_MAP = fieldTag(5, WIRE_LEN);
const TYPE_SPARSE_TENSOR = fieldTag(8, WIRE_LEN);
const TYPE_OPTIONAL = fieldTag(9, WIRE_LEN);
const TENSOR_TYPE_ELEM_TYPE = fieldTag(1, WIRE_VARINT);
const TENSOR_TYPE_SHAPE = fieldTag(2, WIRE_LEN);
const SHAPE_DIM = fieldTag(1, WIRE_LEN);
const DIM_VALUE = fieldTag(1, WIRE_VARINT);
const DIM_PARAM = fieldTag(2, WIRE_LEN);

/** TensorProto.DataType numbers → names (numbers not listed come back as `type<N>`). */
const DATA_TYPES: Record<number, string> = {
  0: 'undefined',
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

const NON_TENSOR_KINDS: Record<number, string> = {
  [TYPE_SEQUENCE]: 'sequence',
  [TYPE_MAP]: 'map',
  [TYPE_SPARSE_TENSOR]: 'sparse_tensor',
  [TYPE_OPTIONAL]: 'optional',
};

/** Parses the header of an in-memory ONNX model. Throws NotOnnxError saying why if it is not one. */
export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  const other = recogniseOtherFormat(bytes);
  if (other) throw new NotOnnxError(other);
  try {
    return parseModel(new ProtoReader(bytes));
  } catch (err) {
    if (err instanceof ProtobufError) {
      throw new NotOnnxError(`the bytes are not a valid protobuf message (${err.message})`);
    }
    throw err;
  }
}

/** Reads and parses a model file. All failures are ModelErrors whose message names the path. */
export async function readOnnxFile(path: string): Promise<OnnxHeader> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelError(`model file not found: ${path}`, { cause: err });
    if (code === 'EISDIR') throw new ModelError(`model path is a directory, not a file: ${path}`, { cause: err });
    throw new ModelError(`cannot read model ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return readOnnxHeader(bytes);
  } catch (err) {
    if (err instanceof NotOnnxError) {
      throw new ModelError(`${path} is not an ONNX model: ${err.reason}`, { cause: err });
    }
    throw err;
  }
}

/** Names formats people pass by mistake, so the error can say what the file is instead. */
function recogniseOtherFormat(b: Uint8Array): string | null {
  if (b.length === 0) return 'the file is empty';
  const startsWith = (s: string, at = 0): boolean =>
    b.length >= at + s.length && [...s].every((c, i) => b[at + i] === c.charCodeAt(0));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'it is a JPEG image';
  if (startsWith('\x89PNG')) return 'it is a PNG image';
  if (startsWith('GIF8')) return 'it is a GIF image';
  if (startsWith('RIFF') && startsWith('WEBP', 8)) return 'it is a WebP image';
  if (startsWith('PK\x03\x04')) {
    return 'it is a zip archive (a PyTorch .pt checkpoint? export it with `yolo export format=onnx`)';
  }
  if (startsWith('version https://git-lfs')) {
    return 'it is a Git LFS pointer file, not the model itself (run `git lfs pull`)';
  }
  const head = new TextDecoder().decode(b.subarray(0, 64)).trimStart().toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html') || head.startsWith('<?xml')) {
    return 'it is an HTML/XML document (a failed download?)';
  }
  return null;
}

function parseModel(r: ProtoReader): OnnxHeader {
  let irVersion: number | null = null;
  let producerName = '';
  let producerVersion = '';
  let opsetVersion: number | null = null;
  let graph: ProtoReader | null = null;
  const metadata: Record<string, string> = {};
  while (!r.done) {
    const tag = r.readTag();
    switch (tag) {
      case MODEL_IR_VERSION:
        irVersion = r.readInt64();
        break;
      case MODEL_PRODUCER_NAME:
        producerName = r.readString();
        break;
      case MODEL_PRODUCER_VERSION:
        producerVersion = r.readString();
        break;
      case MODEL_GRAPH:
        graph = r.readMessage();
        break;
      case MODEL_OPSET_IMPORT: {
        const opset = parseOpset(r.readMessage());
        if (opset.domain === '' || opset.domain === 'ai.onnx') opsetVersion = opset.version;
        break;
      }
      case MODEL_METADATA_PROPS: {
        const [key, value] = parseEntry(r.readMessage());
        // defineProperty so that a key like "__proto__" is stored as data, not as a prototype.
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
        break;
      }
      default:
        r.skip(tag);
    }
  }
  if (irVersion === null) throw new NotOnnxError('it has no ir_version field');
  if (!(irVersion >= 1 && irVersion <= 100)) throw new NotOnnxError(`ir_version ${irVersion} is not plausible`);
  if (graph === null) throw new NotOnnxError('it contains no graph');
  const { inputs, outputs } = parseGraph(graph);
  return { irVersion, producerName, producerVersion, opsetVersion, metadata, inputs, outputs };
}

function parseOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  while (!r.done) {
    const tag = r.readTag();
    if (tag === OPSET_DOMAIN) domain = r.readString();
    else if (tag === OPSET_VERSION) version = r.readInt64();
    else r.skip(tag);
  }
  return { domain, version };
}

function parseEntry(r: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = r.readTag();
    if (tag === ENTRY_KEY) key = r.readString();
    else if (tag === ENTRY_VALUE) value = r.readString();
    else r.skip(tag);
  }
  return [key, value];
}

function parseGraph(r: ProtoReader): { inputs: ValueInfo[]; outputs: ValueInfo[] } {
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  const initializers = new Set<string>();
  while (!r.done) {
    const tag = r.readTag();
    switch (tag) {
      case GRAPH_INPUT:
        inputs.push(parseValueInfo(r.readMessage()));
        break;
      case GRAPH_OUTPUT:
        outputs.push(parseValueInfo(r.readMessage()));
        break;
      case GRAPH_INITIALIZER:
        initializers.add(parseTensorName(r.readMessage()));
        break;
      case GRAPH_SPARSE_INITIALIZER:
        initializers.add(parseSparseTensorName(r.readMessage()));
        break;
      default:
        r.skip(tag);
    }
  }
  return { inputs: inputs.filter((v) => !initializers.has(v.name)), outputs };
}

function parseTensorName(r: ProtoReader): string {
  let name = '';
  while (!r.done) {
    const tag = r.readTag();
    if (tag === TENSOR_NAME) name = r.readString();
    else r.skip(tag); // raw_data and friends: skipped by offset, never copied
  }
  return name;
}

function parseSparseTensorName(r: ProtoReader): string {
  let name = '';
  while (!r.done) {
    const tag = r.readTag();
    if (tag === SPARSE_TENSOR_VALUES) name = parseTensorName(r.readMessage());
    else r.skip(tag);
  }
  return name;
}

function parseValueInfo(r: ProtoReader): ValueInfo {
  let name = '';
  let elemType = 'undefined';
  let shape: Dim[] | null = null;
  while (!r.done) {
    const tag = r.readTag();
    if (tag === VALUE_INFO_NAME) name = r.readString();
    else if (tag === VALUE_INFO_TYPE) ({ elemType, shape } = parseType(r.readMessage()));
    else r.skip(tag);
  }
  return { name, elemType, shape };
}

function parseType(r: ProtoReader): { elemType: string; shape: Dim[] | null } {
  let elemType = 'undefined';
  let shape: Dim[] | null = null;
  while (!r.done) {
    const tag = r.readTag();
    switch (tag) {
      case TYPE_TENSOR: {
        const t = r.readMessage();
        while (!t.done) {
          const tt = t.readTag();
          if (tt === TENSOR_TYPE_ELEM_TYPE) {
            const n = t.readVarint();
            elemType = DATA_TYPES[n] ?? `type${n}`;
          } else if (tt === TENSOR_TYPE_SHAPE) {
            shape = parseShape(t.readMessage());
          } else {
            t.skip(tt);
          }
        }
        break;
      }
      case TYPE_SEQUENCE:
      case TYPE_MAP:
      case TYPE_SPARSE_TENSOR:
      case TYPE_OPTIONAL:
        r.skip(tag);
        elemType = NON_TENSOR_KINDS[tag]!;
        break;
      default:
        r.skip(tag);
    }
  }
  return { elemType, shape };
}

function parseShape(r: ProtoReader): Dim[] {
  const dims: Dim[] = [];
  while (!r.done) {
    const tag = r.readTag();
    if (tag !== SHAPE_DIM) {
      r.skip(tag);
      continue;
    }
    const d = r.readMessage();
    let dim: Dim = null;
    while (!d.done) {
      const dt = d.readTag();
      if (dt === DIM_VALUE) {
        const v = d.readInt64();
        dim = v >= 0 ? v : null; // a negative size is meaningless; treat it as unknown
      } else if (dt === DIM_PARAM) {
        const p = d.readString();
        dim = p === '' ? null : p;
      } else {
        d.skip(dt);
      }
    }
    dims.push(dim);
  }
  return dims;
}
