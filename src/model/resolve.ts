// Resolves everything the pipeline needs to know about a model, once, at start-up.

import { readFile } from 'node:fs/promises';
import type { Dim, ModelInfo, TensorElementType } from '../types.js';
import { ModelError } from './errors.js';
import { formatShape, isEnd2end } from './layout.js';
import { taskFor } from '../tasks/registry.js';
import type { TaskDefinition, TaskLayout } from '../tasks/types.js';
import { COCO80, namesFromMetadata, parseNamesFile } from './names.js';
import { readOnnxFile, type OnnxHeader, type ValueInfo } from './onnx-file.js';
import { parsePyLiteral } from './py-literal.js';

export { ModelError } from './errors.js';

export interface ResolveOptions {
  /** A names file (JSON, YAML or one name per line); wins over the model's metadata. */
  namesFile?: string;
  /** Requested input size: n for n×n, or [h, w]. Only dynamic inputs may take another size. */
  imgsz?: number | [number, number];
}

/** ModelInfo plus what layout detection could not settle before the first inference. */
export interface ResolvedModel extends ModelInfo {
  /** Classes in the output when the declared shape says so; null for end-to-end or symbolic outputs. */
  numClasses: number | null;
  /**
   * True when output 0 is fully symbolic and the metadata does not tell its layout: `layout` is a
   * guess, and the pipeline must use detectLayoutFromRuntimeShape on the first real output.
   */
  layoutPending: boolean;
  /** The task's decision about the outputs (roles, extra values, kpt_shape, mask size); settled by the probe. */
  taskLayout: TaskLayout;
}

const DEFAULT_IMGSZ = 640;
const DEFAULT_STRIDE = 32;

export async function resolveModel(path: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  return resolveModelHeader(path, await readOnnxFile(path), opts);
}

/** resolveModel for a header already read (inspect shows the header itself as well). */
export async function resolveModelHeader(path: string, header: OnnxHeader, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const metadata = header.metadata;
  const input = header.inputs[0];
  const output = header.outputs[0];
  if (!input) throw new ModelError(`${path}: the model has no inputs`);
  if (!output) throw new ModelError(`${path}: the model has no outputs`);

  const inputType = elementType(path, 'input', input);
  const outputType = elementType(path, 'output', output);
  const inputShape = input.shape;
  if (inputShape === null || inputShape.length !== 4 || !(inputShape[1] === 3 || !isFixed(inputShape[1]))) {
    throw new ModelError(
      `${path}: input '${input.name}' has shape ${inputShape ? formatShape(inputShape) : 'unknown'}; ` +
        'expected an NCHW image tensor [N, 3, H, W]',
    );
  }
  const outputShape = output.shape ?? [null, null, null];

  const { names, namesSource } = await resolveNames(path, metadata, opts.namesFile);
  const stride = parseStride(metadata.stride);
  const imgsz = resolveImgsz(path, inputShape, stride, opts.imgsz, metadata.imgsz);

  let task: TaskDefinition;
  let decision: TaskLayout;
  try {
    const ctx = { outputs: header.outputs, metadata, numClassesHint: namesSource === 'coco80' ? undefined : names.length };
    task = taskFor(ctx);
    decision = task.resolve(ctx);
  } catch (err) {
    if (err instanceof ModelError) throw new ModelError(`${path}: ${err.message}`);
    throw err;
  }
  if (decision.numClasses !== null && decision.numClasses !== names.length) {
    throw namesMismatch(path, formatShape(outputShape), decision.numClasses, names.length, namesSource, opts.namesFile);
  }
  // End-to-end outputs ([B, K, 6]) do not show the class count; the model's own names metadata does.
  const shapeTellsClasses = decision.layout !== 'xyxy-score-class' && decision.numClasses !== null;
  if (!shapeTellsClasses && namesSource === 'file' && metadata.names !== undefined) {
    const own = namesFromMetadata(metadata.names).length;
    if (own !== names.length) throw new ModelError(`names file ${opts.namesFile} has ${names.length} names but the model ${path} has ${own} classes (its names metadata)`);
  }

  return {
    path,
    inputName: input.name,
    inputType,
    inputShape,
    outputName: output.name,
    outputType,
    outputShape,
    layout: decision.layout,
    names,
    namesSource,
    imgsz,
    stride,
    task: task.name,
    taskLayout: decision,
    end2end: decision.layout === 'xyxy-score-class' || isEnd2end(metadata),
    dynamicBatch: !isFixed(inputShape[0]),
    dynamicSpatial: !isFixed(inputShape[2]) || !isFixed(inputShape[3]),
    metadata,
    numClasses: decision.numClasses,
    layoutPending: decision.pending,
  };
}

function isFixed(d: Dim | undefined): d is number {
  return typeof d === 'number' && d > 0;
}

function elementType(path: string, role: string, v: ValueInfo): TensorElementType {
  if (v.elemType === 'float32' || v.elemType === 'float16') return v.elemType;
  throw new ModelError(
    `${path}: ${role} '${v.name}' has element type ${v.elemType}; only float32 and float16 are supported`,
  );
}

async function resolveNames(
  path: string,
  metadata: Record<string, string>,
  namesFile: string | undefined,
): Promise<{ names: string[]; namesSource: ModelInfo['namesSource'] }> {
  if (namesFile !== undefined) {
    let text: string;
    try {
      text = await readFile(namesFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ModelError(`names file not found: ${namesFile}`, { cause: err });
      throw new ModelError(`cannot read names file ${namesFile}: ${(err as Error).message}`, { cause: err });
    }
    return { names: parseNamesFile(text, namesFile), namesSource: 'file' };
  }
  if (metadata.names !== undefined) {
    try {
      return { names: namesFromMetadata(metadata.names), namesSource: 'metadata' };
    } catch (err) {
      if (err instanceof ModelError) throw new ModelError(`${path}: ${err.message}; pass --names FILE to override it`);
      throw err;
    }
  }
  return { names: [...COCO80], namesSource: 'coco80' };
}

function namesMismatch(
  path: string,
  shape: string,
  numClasses: number,
  numNames: number,
  source: ModelInfo['namesSource'],
  namesFile: string | undefined,
): ModelError {
  const classes = `the model ${path} outputs ${numClasses} classes (output shape ${shape})`;
  if (source === 'file') return new ModelError(`names file ${namesFile} has ${numNames} names but ${classes}`);
  if (source === 'metadata') return new ModelError(`${classes} but its names metadata lists ${numNames} names`);
  return new ModelError(`${classes} and has no names metadata; pass --names FILE with ${numClasses} names`);
}

/** Ultralytics writes an int ("32"); anything unreadable falls back to 32 like a model without it. */
function parseStride(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STRIDE;
  try {
    const v = parsePyLiteral(value);
    const n = Array.isArray(v) ? Math.max(...v.map(Number)) : Number(v);
    return Number.isInteger(n) && n > 0 ? n : DEFAULT_STRIDE;
  } catch {
    return DEFAULT_STRIDE;
  }
}

/** [h, w] from metadata imgsz ("[640, 640]" or "640"); null when absent or unreadable. */
function parseMetadataImgsz(value: string | undefined): [number, number] | null {
  if (value === undefined) return null;
  try {
    const v = parsePyLiteral(value);
    const hw = Array.isArray(v) ? (v.length === 1 ? [v[0], v[0]] : v) : [v, v];
    if (hw.length === 2 && hw.every((x) => Number.isInteger(x) && (x as number) > 0)) return hw as [number, number];
  } catch {
    // fall through: a broken hint is no hint
  }
  return null;
}

/**
 * The size images are letterboxed to. Fixed input dims win; for dynamic ones: --imgsz, else the
 * metadata imgsz, else 640, rounded up to a multiple of the stride as Ultralytics check_imgsz does.
 */
function resolveImgsz(
  path: string,
  inputShape: Dim[],
  stride: number,
  requested: number | [number, number] | undefined,
  metadataImgsz: string | undefined,
): [number, number] {
  const wanted = requested === undefined ? null : typeof requested === 'number' ? [requested, requested] : requested;
  if (wanted !== null && (wanted.length !== 2 || !wanted.every((x) => Number.isInteger(x) && x > 0))) {
    throw new ModelError(`invalid imgsz ${JSON.stringify(requested)}: expected a positive integer or [height, width]`);
  }
  const roundUp = (x: number): number => Math.ceil(x / stride) * stride;
  const [h, w] = (wanted ?? parseMetadataImgsz(metadataImgsz) ?? [DEFAULT_IMGSZ, DEFAULT_IMGSZ]).map(roundUp) as [
    number,
    number,
  ];
  const fixedH = isFixed(inputShape[2]) ? inputShape[2] : null;
  const fixedW = isFixed(inputShape[3]) ? inputShape[3] : null;
  if (wanted !== null && ((fixedH !== null && fixedH !== h) || (fixedW !== null && fixedW !== w))) {
    throw new ModelError(
      `imgsz ${h}x${w} (height x width) conflicts with the fixed input size ` +
        `${fixedH ?? '?'}x${fixedW ?? '?'} of ${path}; omit --imgsz for this model`,
    );
  }
  return [fixedH ?? h, fixedW ?? w];
}
