// Messages between the main thread and an inference worker. Tensors travel as transferred
// ArrayBuffers (moved, not copied) and come back the same way so their memory is reused.
import type { TaskLayout } from '../tasks/types.js';
import type { Detection, LetterboxGeometry, PostprocessOptions, TensorElementType } from '../types.js';

export type DeviceKind = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu';

/** What a worker needs to own one ORT session. Plain data: it is cloned into the worker. */
export interface WorkerInit {
  modelPath: string;
  /** Execution providers to try, in order; the first that creates a session wins. */
  devices: DeviceKind[];
  intraOpThreads: number;
  inputName: string;
  inputType: TensorElementType;
  /** The outputs the task reads (TaskLayout.outputs), detections first; the worker fetches only these. */
  outputNames: string[];
  outputType: TensorElementType;
  /** Network input [h, w]. */
  imgsz: [number, number];
}

/** Sent once the session exists; reports the probe run so layout can be settled from real dims. */
export interface ReadyMessage {
  type: 'ready';
  device: DeviceKind;
  /** Providers tried before the one that worked, with the reason each failed. */
  fallbacks: { device: DeviceKind; reason: string }[];
  /** Dims of each fetched output (outputNames order) from a warm-up run on a batch of one. */
  probeDims: number[][];
}

export interface InitFailedMessage {
  type: 'init-failed';
  message: string;
  fallbacks: { device: DeviceKind; reason: string }[];
}

/** Settles decoding once the layout is known (sent after 'ready'). */
export interface ConfigureMessage {
  type: 'configure';
  /** The task and its settled layout: which decode runs and how it reads the outputs. */
  spec: TaskLayout;
  names: string[];
  post: PostprocessOptions;
}

export interface RunMessage {
  type: 'run';
  id: number;
  /** Images in this batch. */
  count: number;
  /** float32 CHW, count × 3 × h × w, transferred. */
  input: ArrayBuffer;
  geometries: LetterboxGeometry[];
}

export interface RunResultMessage {
  type: 'result';
  id: number;
  /** The input buffer, handed back for reuse. */
  input: ArrayBuffer;
  /** One list per image, in batch order; absent when `error` is set. */
  detections?: Detection[][];
  error?: string;
  /** Milliseconds spent in session.run (including fp16 conversion) and in postprocessing. */
  inferMs: number;
  postMs: number;
}

export type ToWorker = ConfigureMessage | RunMessage | { type: 'close' };
export type FromWorker = ReadyMessage | InitFailedMessage | RunResultMessage;
