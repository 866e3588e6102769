import { DETECTION_TASK_FIELDS, type Detection, type ImageResult } from '../types.js';

/**
 * One JSONL record (without the line ending). The object is rebuilt field by field so the key
 * order is fixed by this function alone and internal fields (index) never leak into files.
 */
export function formatJsonlLine(r: ImageResult): string {
  return JSON.stringify({
    path: r.path,
    width: r.width,
    height: r.height,
    detections: r.detections.map((d) => {
      const out: Record<string, unknown> = {
        name: d.name,
        class: d.class,
        confidence: d.confidence,
        box: { x1: d.box.x1, y1: d.box.y1, x2: d.box.x2, y2: d.box.y2 },
      };
      // Task fields (segments, keypoints, ...) follow the box, in DETECTION_TASK_FIELDS order.
      for (const f of DETECTION_TASK_FIELDS) if (d[f as keyof Detection] !== undefined) out[f] = d[f as keyof Detection];
      return out;
    }),
    error: r.error ? { code: r.error.code, message: r.error.message } : null,
  });
}
