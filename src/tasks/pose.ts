// pose: output 0 holds detections with K·d keypoint values each ([B, 4+nc+K·d, N], or end-to-end
// [B, K', 6+K·d]), kpt_shape [K, d] from metadata (default [17, 3]). Keypoints are scaled back
// like boxes and clipped to the image (scale_coords); as Ultralytics' Keypoints does, a point
// whose visibility is below 0.5 gets x = y = 0. Written as summary()'s {"x", "y", "visible"}.
import { ModelError } from '../model/errors.js';
import { parsePyLiteral } from '../model/py-literal.js';
import { roundDecimals } from '../postprocess/round.js';
import type { Keypoints } from '../types.js';
import { DECIMALS, gatherExtras, keptCandidates, scalePoint, toDetection } from './boxes.js';
import { layoutWithExtras } from './outputs.js';
import type { TaskDefinition, TaskLayout } from './types.js';

export const DEFAULT_KPT_SHAPE: [number, number] = [17, 3];

/** kpt_shape from metadata ("[17, 3]"); the default when absent; a clear error when malformed. */
export function kptShapeOf(metadata: Record<string, string>): [number, number] {
  const raw = metadata.kpt_shape;
  if (raw === undefined) return DEFAULT_KPT_SHAPE;
  let v: unknown;
  try {
    v = parsePyLiteral(raw);
  } catch {
    v = null;
  }
  if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && v[0] > 0 && (v[1] === 2 || v[1] === 3)) return [v[0], v[1]];
  throw new ModelError(`metadata kpt_shape '${raw}' is not [keypoints, 2 or 3]`);
}

export const pose: TaskDefinition = {
  name: 'pose',
  description: 'boxes and keypoints',
  preprocess: 'letterbox',
  csvColumns: ['keypoints'],
  recognises: (ctx) => ctx.metadata.kpt_shape !== undefined,
  resolve(ctx) {
    const det = ctx.outputs[0];
    if (!det) throw new ModelError('the model has no outputs');
    const kptShape = kptShapeOf(ctx.metadata);
    const extra = kptShape[0] * kptShape[1];
    const d = layoutWithExtras(det.shape, extra, ctx.metadata, ctx.numClassesHint, `output '${det.name}' (detections with ${kptShape[0]}×${kptShape[1]} keypoint values)`);
    return { task: 'pose', ...d, outputs: [{ name: det.name, role: 'detections' }], extra, kptShape, maskSize: null };
  },
  settle(declared, dims, numNames, metadata): TaskLayout {
    const d = layoutWithExtras(dims[0]!, declared.extra, metadata, numNames, 'the detections output');
    if (!declared.pending && d.layout !== declared.layout) throw new ModelError(`output shape [${dims[0]!.join(', ')}] does not match the expected ${declared.layout} layout`);
    if (d.numClasses !== null && d.numClasses !== numNames) {
      throw new ModelError(`the model's output [${dims[0]!.join(', ')}] has ${d.numClasses} classes but ${numNames} class names are known; pass --names with exactly one name per class`);
    }
    return { ...declared, layout: d.layout, numClasses: d.numClasses ?? numNames, pending: false };
  },
  decode([det], g, opts, names, spec) {
    const [k, dims] = spec.kptShape!;
    return keptCandidates(det!, opts, spec).map((c) => {
      const v = gatherExtras(det!, c, spec);
      const kp: Keypoints = { x: [], y: [] };
      if (dims === 3) kp.visible = [];
      for (let i = 0; i < k; i++) {
        let [x, y] = scalePoint(v[i * dims]!, v[i * dims + 1]!, g);
        if (dims === 3) {
          const vis = v[i * dims + 2]!;
          if (vis < 0.5) x = y = 0;
          kp.visible!.push(roundDecimals(vis, DECIMALS.confidence));
        }
        kp.x.push(roundDecimals(x, DECIMALS.pixels));
        kp.y.push(roundDecimals(y, DECIMALS.pixels));
      }
      return { ...toDetection(c, g, names), keypoints: kp };
    });
  },
};
