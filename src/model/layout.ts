// Works out how a model's detection output (output 0) is laid out: from metadata when Ultralytics
// wrote it, from the declared shape otherwise, and — when the shape is symbolic — from the first
// real output at run time.

import type { Dim, OutputLayout } from '../types.js';
import { ModelError } from './errors.js';
import { parsePyLiteral } from './py-literal.js';

export interface LayoutDecision {
  layout: OutputLayout;
  /** Classes the output carries; null when the shape does not say (end-to-end, symbolic dims). */
  numClasses: number | null;
  /**
   * True when the declared shape could not settle the layout (all dims symbolic, no telling
   * metadata). `layout` is then only a guess: call detectLayoutFromRuntimeShape on the first output.
   */
  pending: boolean;
}

/** End-to-end outputs hold at most this many rows; raw heads have thousands of anchors. */
const MAX_END2END_ROWS = 1000;

const SUPPORTED =
  'supported layouts are [B, 4+nc, N] (YOLOv8/YOLO11/YOLOv5u), [B, N, 5+nc] (YOLOv5) ' +
  'and [B, K, 6] (end-to-end YOLOv10/YOLO26 or nms=True exports)';

/** True when metadata says the graph already de-duplicates boxes (end2end=True or args nms=True). */
export function isEnd2end(metadata: Record<string, string>): boolean {
  if (metadata.end2end === 'True') return true;
  if (metadata.args === undefined) return false;
  try {
    const args = parsePyLiteral(metadata.args);
    return args instanceof Map && args.get('nms') === true;
  } catch {
    return false; // unreadable args only lose a hint
  }
}

/**
 * Decides the layout from the declared output shape (null = unknown rank) and metadata.
 * `numClassesHint` is a trustworthy class count (names from metadata or a file), used only where
 * the shape is ambiguous. Throws ModelError for shapes that fit no supported layout.
 */
export function detectLayout(
  outputShape: readonly Dim[] | null,
  metadata: Record<string, string>,
  numClassesHint?: number,
): LayoutDecision {
  const shape = outputShape ?? [null, null, null];
  if (shape.length !== 3) throw unsupported(shape);
  const a = typeof shape[1] === 'number' ? shape[1] : null;
  const c = typeof shape[2] === 'number' ? shape[2] : null;
  const hint = numClassesHint ?? null;
  const decided = (layout: OutputLayout, numClasses: number | null): LayoutDecision => ({
    layout,
    numClasses,
    pending: false,
  });

  if (isEnd2end(metadata)) {
    if (c !== null && c !== 6) throw unsupported(shape, 'the metadata says end2end, which needs 6 columns');
    return decided('xyxy-score-class', hint);
  }
  if (a !== null && c !== null) {
    if (c === 6 && a <= MAX_END2END_ROWS) return decided('xyxy-score-class', hint);
    if (a < c && a > 4) return decided('xywh-classes', a - 4);
    if (a > c && c > 5) return decided('xywh-obj-classes', c - 5);
    throw unsupported(shape);
  }
  // Symbolic anchor count, fixed attribute count: which side is fixed gives the orientation.
  if (a !== null) {
    if (a > 4) return decided('xywh-classes', a - 4);
    throw unsupported(shape);
  }
  if (c !== null) {
    if (c > 6) return decided('xywh-obj-classes', c - 5);
    if (c !== 6) throw unsupported(shape);
    // 6 columns: end-to-end, or a single-class YOLOv5 head. Only the class count can tell.
    if (hint === 1) return decided('xywh-obj-classes', 1);
    if (hint !== null) return decided('xyxy-score-class', hint);
    return { layout: 'xyxy-score-class', numClasses: null, pending: true };
  }
  // Nothing fixed. Exports by the ultralytics package (they write `task`) are [B, 4+nc, N]
  // unless end2end; metadata-less exports are, in practice, classic YOLOv5 [B, N, 5+nc].
  if (metadata.task !== undefined) return decided('xywh-classes', hint);
  return { layout: 'xywh-obj-classes', numClasses: hint, pending: true };
}

/**
 * The layout of a real output (concrete dims), checked against the number of class names.
 * Call it on the first batch's output 0; it is cheap and catches dynamic dims that lied.
 */
export function detectLayoutFromRuntimeShape(
  dims: readonly number[],
  numNames: number,
  metadata: Record<string, string>,
): { layout: OutputLayout; numClasses: number } {
  const { layout, numClasses } = detectLayout(dims, metadata, numNames);
  if (numClasses !== null && numClasses !== numNames) {
    throw new ModelError(
      `the model's output ${formatShape(dims)} (${layout}) has ${numClasses} classes ` +
        `but ${numNames} class names are known; pass --names with exactly one name per class`,
    );
  }
  return { layout, numClasses: numClasses ?? numNames };
}

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function unsupported(shape: readonly Dim[], why?: string): ModelError {
  return new ModelError(
    `unsupported detection output shape ${formatShape(shape)}${why ? ` (${why})` : ''}; ${SUPPORTED}`,
  );
}
