// obb: oriented boxes. Output 0 is [B, 4+nc+1, N] (cx, cy, w, h, class scores, angle; YOLOv8/
// YOLO11 OBB) or end-to-end [B, K, 7] (YOLO26 OBB). Rotated Fast-NMS with ProbIoU, scaled back
// as scale_boxes(xywh=True); each detection carries its corners (`obb`, summary()'s x1…y4), its
// `xywhr`, and `box`, the axis-aligned box around the corners. The math is postprocess/obb.ts.
// An OBB export cannot be told from a detection export by its shapes alone ([B, 4+nc+1, N] is
// also a detector with nc+1 classes), so only metadata task=obb selects it.
import { ModelError } from '../model/errors.js';
import { formatShape, isEnd2end } from '../model/layout.js';
import { obbLayoutOf, postprocessObbImage, type ObbLayout } from '../postprocess/obb.js';
import { DECIMALS, matrixDims } from './boxes.js';
import type { TaskDefinition, TaskLayout } from './types.js';

/** obbLayoutOf with ModelError naming the output, and the class count checked against the names. */
function obbLayout(shape: Parameters<typeof obbLayoutOf>[0], metadata: Record<string, string>, what: string): { layout: ObbLayout; numClasses: number | null } {
  try {
    return obbLayoutOf(shape, isEnd2end(metadata));
  } catch (err) {
    throw new ModelError(`${what}: ${(err as Error).message}`);
  }
}

export const obb: TaskDefinition = {
  name: 'obb',
  description: 'oriented (rotated) boxes',
  preprocess: 'letterbox',
  csvColumns: ['obb', 'xywhr'],
  recognises: () => false,
  resolve({ outputs, metadata, numClassesHint }) {
    const out = outputs[0];
    if (!out) throw new ModelError('the model has no outputs');
    // The metadata settles the layout (task=obb selects this task); settle() checks the real dims.
    const d = obbLayout(out.shape, metadata, `output '${out.name}'`);
    return {
      task: 'obb',
      layout: d.layout,
      numClasses: d.numClasses ?? (d.layout === 'xywh-score-class-angle' ? (numClassesHint ?? null) : null),
      pending: false,
      outputs: [{ name: out.name, role: 'detections' }],
      extra: 0,
      kptShape: null,
      maskSize: null,
    };
  },
  settle(declared, dims, numNames, metadata): TaskLayout {
    const real = dims[0]!;
    const d = obbLayout(real, metadata, 'the detections output');
    if (d.layout !== declared.layout) throw new ModelError(`output shape ${formatShape([...real])} does not match the expected ${declared.layout} layout`);
    if (d.numClasses !== null && d.numClasses !== numNames) {
      throw new ModelError(`the model's output ${formatShape([...real])} has ${d.numClasses} classes but ${numNames} class names are known; pass --names with exactly one name per class`);
    }
    return { ...declared, numClasses: d.numClasses ?? numNames, pending: false };
  },
  decode([det], g, opts, names, spec) {
    const [rows, cols] = matrixDims(det!, spec.layout);
    return postprocessObbImage(spec.layout as ObbLayout, det!.data, rows, cols, g, opts, names, {
      confidence: DECIMALS.confidence,
      box: DECIMALS.pixels,
      angle: DECIMALS.confidence,
    });
  },
};
