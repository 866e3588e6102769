// The data that flows between pipeline stages, declared once. Every stage module imports its
// shapes from here so that the output schema has exactly one definition.

/** One unit of work: an image path and its position in the (stable) input order. */
export interface ImageJob {
  /** 0-based position in the expanded input order; outputs are written in this order. */
  index: number;
  /** Absolute, normalised path (or the literal path an error record refers to). */
  path: string;
  /** An error known before decoding (e.g. an explicitly named unsupported file). */
  error?: ImageError;
}

/** Stable machine-readable codes for per-image failures. Never renamed once released. */
export type ErrorCode =
  | 'NOT_FOUND' // file vanished between listing and reading
  | 'UNREADABLE' // permissions or other read error
  | 'IS_DIRECTORY' // a manifest line or argument pointing at a directory where a file was needed
  | 'SPECIAL_FILE' // a FIFO, socket or device named like an image: only regular files are read
  | 'EMPTY_FILE' // zero bytes
  | 'UNSUPPORTED_TYPE' // an explicitly named file whose extension is not an image type we read
  | 'DECODE_FAILED' // the bytes are not a decodable image (corrupt, truncated, text named .jpg)
  | 'TOO_LARGE' // more pixels than --max-pixels, or a file above --max-file-size
  | 'INFERENCE_FAILED'; // the model failed on this image's batch

export interface ImageError {
  code: ErrorCode;
  message: string;
}

/** A box in pixel coordinates, corners (x1,y1) top-left and (x2,y2) bottom-right. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A polygon in original-image pixels (Results.summary()'s `segments`). */
export interface Polygon {
  x: number[];
  y: number[];
}

/** Keypoints in original-image pixels (Results.summary()'s `keypoints`); `visible` when the model has it. */
export interface Keypoints {
  x: number[];
  y: number[];
  visible?: number[];
}

/** A binary mask as COCO run-length encoding: size [h, w], counts compressed as pycocotools writes them. */
export interface Rle {
  size: [number, number];
  counts: string;
}

/** One detection, Ultralytics-compatible (`Results.summary()` shape). Task fields are present only for their task. */
export interface Detection {
  name: string;
  class: number;
  confidence: number;
  box: Box;
  /** segment, --mask-format polygon: the mask's largest outer contour. */
  segments?: Polygon;
  /** segment, --mask-format rle: the mask at the original image size. */
  rle?: Rle;
  /** pose */
  keypoints?: Keypoints;
}

/**
 * Detection fields beyond class/confidence/box, in the order files write them. JSONL writes each
 * one a detection has; CSV gives each task's fields one JSON-encoded column (tasks/*.ts csvColumns).
 */
export const DETECTION_TASK_FIELDS = ['segments', 'rle', 'keypoints'] as const;
export type DetectionTaskField = (typeof DETECTION_TASK_FIELDS)[number];

/** The tasks Ultralytics exports; src/tasks/registry.ts says which of them yolo-serve runs. */
export type TaskName = 'detect' | 'segment' | 'pose' | 'obb' | 'classify';

/** The one record every sink consumes: a result or an error, never neither. */
export interface ImageResult {
  /** Position in the input order. */
  index: number;
  path: string;
  /** Upright (EXIF-applied) size; null when the image could not be read. */
  width: number | null;
  height: number | null;
  detections: Detection[];
  error: ImageError | null;
}

/**
 * Geometry of one letterbox transform (Ultralytics LetterBox, auto=False, scaleup=True, center=True).
 * The source image of srcW×srcH is resized to newW×newH and padded to dstW×dstH.
 */
export interface LetterboxGeometry {
  srcW: number;
  srcH: number;
  dstW: number;
  dstH: number;
  newW: number;
  newH: number;
  /** r = min(dstH/srcH, dstW/srcW) */
  gain: number;
  padLeft: number;
  padTop: number;
  padRight: number;
  padBottom: number;
}

/** A decoded, upright image as packed 8-bit RGB (HWC, 3 channels, no padding between rows). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** How the model's detection output (output 0) is laid out. */
export type OutputLayout =
  /** [B, 4+nc, N]: rows cx,cy,w,h then nc class scores (YOLOv8/11, YOLOv5u). */
  | 'xywh-classes'
  /** [B, N, 5+nc]: cx,cy,w,h, objectness, nc class probabilities; score = obj × cls (YOLOv5). */
  | 'xywh-obj-classes'
  /** [B, K, 6]: x1,y1,x2,y2, score, class (YOLOv10, YOLO26, nms=True exports). Already de-duplicated. */
  | 'xyxy-score-class';

export type TensorElementType = 'float32' | 'float16';

/** A tensor dimension: a number when fixed, a symbolic name (or null) when dynamic. */
export type Dim = number | string | null;

/** Everything the pipeline needs to know about a model, resolved once at start-up. */
export interface ModelInfo {
  path: string;
  inputName: string;
  inputType: TensorElementType;
  /** As declared in the graph, e.g. [1,3,640,640] or ['batch',3,'height','width']. */
  inputShape: Dim[];
  /** Output 0: the detections (other outputs of multi-output exports are ignored unless the task reads them). */
  outputName: string;
  outputType: TensorElementType;
  outputShape: Dim[];
  layout: OutputLayout;
  /** Class names by class id. */
  names: string[];
  /** Where `names` came from. */
  namesSource: 'metadata' | 'file' | 'coco80';
  /** Network input size [h, w] actually used for letterboxing. */
  imgsz: [number, number];
  stride: number;
  /** The task, from metadata `task` or recognised from the outputs (src/tasks/registry.ts). */
  task: TaskName;
  end2end: boolean;
  dynamicBatch: boolean;
  dynamicSpatial: boolean;
  /** Raw metadata_props key → value (Python-literal strings as Ultralytics writes them). */
  metadata: Record<string, string>;
}

/** Post-processing knobs (Ultralytics predict semantics). */
export interface PostprocessOptions {
  conf: number;
  iou: number;
  maxDet: number;
  /** Keep only these class ids (filter applied before NMS); null keeps all. */
  classes: number[] | null;
  agnostic: boolean;
  /** segment: masks at the original image size (Ultralytics process_mask_native) instead of the network input's. */
  retinaMasks?: boolean;
  /** segment: how masks are written. */
  maskFormat?: MaskFormat;
}

export type MaskFormat = 'polygon' | 'rle';

/** A detection in network-input pixel space, before scaling back to the image. */
export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  cls: number;
  /** Where the candidate came from in the output (anchor column or row): extra values (mask
   *  coefficients, keypoints) are gathered from it after NMS. */
  row?: number;
}
