// Shape checks shared by the tasks whose detections output carries extra values per detection
// (segment: mask coefficients; pose: keypoints): [B, 4+nc+extra, N] or end-to-end [B, K, 6+extra].
import { ModelError } from '../model/errors.js';
import { formatShape, isEnd2end } from '../model/layout.js';
import type { Dim, OutputLayout } from '../types.js';

const MAX_END2END_ROWS = 1000;

/** The layout of a detections output with `extra` values per detection, from its declared (or real) shape. */
export function layoutWithExtras(
  shape: readonly Dim[] | null,
  extra: number,
  metadata: Record<string, string>,
  numClassesHint: number | undefined,
  what: string,
): { layout: OutputLayout; numClasses: number | null; pending: boolean } {
  const s = shape ?? [null, null, null];
  const expected = `[B, 4+nc+${extra}, N] or end-to-end [B, K, ${6 + extra}]`;
  if (s.length !== 3) throw new ModelError(`${what} has shape ${formatShape(s)}; expected ${expected}`);
  const a = typeof s[1] === 'number' ? s[1] : null;
  const c = typeof s[2] === 'number' ? s[2] : null;
  const hint = numClassesHint ?? null;
  if (isEnd2end(metadata) || (c === 6 + extra && a !== null && a <= MAX_END2END_ROWS)) {
    if (c !== null && c !== 6 + extra) throw new ModelError(`${what} has shape ${formatShape(s)}; an end-to-end head needs ${6 + extra} columns`);
    return { layout: 'xyxy-score-class', numClasses: hint, pending: false };
  }
  if (a !== null) {
    if (a - 4 - extra < 1) throw new ModelError(`${what} has shape ${formatShape(s)}; expected ${expected}`);
    return { layout: 'xywh-classes', numClasses: a - 4 - extra, pending: false };
  }
  if (c !== null) throw new ModelError(`${what} has shape ${formatShape(s)}; expected ${expected}`);
  // Fully symbolic: Ultralytics exports are [B, 4+nc+extra, N] unless end2end; the probe checks.
  return { layout: 'xywh-classes', numClasses: hint, pending: true };
}
