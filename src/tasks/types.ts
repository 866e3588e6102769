// What a task is to yolo-serve: one definition per Ultralytics task (detect, segment, pose, ...),
// registered in registry.ts. A definition says which model outputs the task reads and in which
// role, how it recognises and checks their layout, the preprocessing it needs, the decode that
// runs in the inference workers, and the record fields (and CSV columns) it adds.
import type { ValueInfo } from '../model/onnx-file.js';
import type { Detection, DetectionTaskField, LetterboxGeometry, OutputLayout, PostprocessOptions, TaskName } from '../types.js';

/** What each model output is for. */
export type OutputRole = 'detections' | 'protos' | 'ignored';

/**
 * A task's decision about a model's outputs: plain data, resolved once at start-up from the
 * declared shapes and metadata, settled by the warm-up run's real dims, then sent to the workers.
 */
export interface TaskLayout {
  task: TaskName;
  /** Layout of the detections output. */
  layout: OutputLayout;
  /** Classes in the output when the shape says so; null for end-to-end or symbolic outputs. */
  numClasses: number | null;
  /** True when the declared shapes could not settle `layout` (it is a guess until the probe). */
  pending: boolean;
  /** The outputs the worker fetches, in the order `decode` receives them (the detections first). */
  outputs: { name: string; role: Exclude<OutputRole, 'ignored'> }[];
  /** Values after the box/score/class of each detection (mask coefficients, keypoint values). */
  extra: number;
  /** pose: [keypoints, values per keypoint (2: x,y; 3: x,y,visibility)]. */
  kptShape: [number, number] | null;
  /** segment: prototype mask size [h, w]. */
  maskSize: [number, number] | null;
}

/** What resolving a task looks at: the model's declared outputs and its metadata. */
export interface TaskContext {
  outputs: readonly ValueInfo[];
  metadata: Record<string, string>;
  /** A class count known to be right (names from metadata or --names), for ambiguous shapes. */
  numClassesHint?: number;
}

/** One image's slice of one output: its values (float32) and dims without the batch dim. */
export interface TensorView {
  data: Float32Array;
  dims: number[];
}

export interface TaskDefinition {
  readonly name: TaskName;
  /** One line for `inspect` and errors. */
  readonly description: string;
  /** letterbox: Ultralytics LetterBox to imgsz (detect, segment, pose, obb). */
  readonly preprocess: 'letterbox';
  /** Detection fields this task adds; CSV writes each as one JSON-encoded column after y2. */
  readonly csvColumns: readonly DetectionTaskField[];
  /** True when outputs (no `task` metadata) can only be this task; checked in registry order. */
  recognises(ctx: TaskContext): boolean;
  /** Roles and layout from declared shapes and metadata. Throws ModelError when they do not fit. */
  resolve(ctx: TaskContext): TaskLayout;
  /** The layout from the warm-up run's real dims (one array per `outputs` entry). Throws ModelError. */
  settle(declared: TaskLayout, dims: readonly (readonly number[])[], numNames: number, metadata: Record<string, string>): TaskLayout;
  /** In an inference worker: one image's outputs → its detections in original-image pixels. */
  decode(outputs: readonly TensorView[], geometry: LetterboxGeometry, opts: PostprocessOptions, names: readonly string[], spec: TaskLayout): Detection[];
}
