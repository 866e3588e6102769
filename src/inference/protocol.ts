// Messages between the main thread and an inference worker. Tensors travel as transferred
// ArrayBuffers (moved, not copied) and come back the same way so their memory is reused.
import type { TaskLayout } from '../tasks/types.js';
import type { Classification, Detection, LetterboxGeometry, PostprocessOptions, TensorElementType } from '../types.js';

import type { DeviceKind } from './devices.js';
export type { DeviceKind } from './devices.js';

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
  /** classify: one per image, in batch order, beside the (empty) detections. */
  classifications?: Classification[];
  error?: string;
  /** Milliseconds spent in session.run (including fp16 conversion) and in postprocessing. */
  inferMs: number;
  postMs: number;
}

/** `--batch auto` on a GPU (batch-calibration.ts): time `runs` runs of `batch` blank images. */
export interface TimeBatchMessage {
  type: 'time-batch';
  id: number;
  batch: number;
  runs: number;
}

export interface TimedMessage {
  type: 'timed';
  id: number;
  /** ms of each run; absent when `error` is set. */
  ms?: number[];
  error?: string;
}

export type ToWorker = ConfigureMessage | RunMessage | TimeBatchMessage | { type: 'close' };
export type FromWorker = ReadyMessage | InitFailedMessage | RunResultMessage | TimedMessage;
