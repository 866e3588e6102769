// The layout a model's detection output really has, settled from the dims of one real inference
// (the warm-up probe). Shared by `batch` and `inspect` so both say the same about a model.
import { UsageError } from '../config.js';
import type { OutputLayout } from '../types.js';
import { detectLayoutFromRuntimeShape } from './layout.js';
import type { ResolvedModel } from './resolve.js';

export function settleLayout(model: ResolvedModel, probeDims: readonly number[]): OutputLayout {
  try {
    // The declared output shape may be symbolic; the warm-up run's real dims settle the layout.
    const { layout } = detectLayoutFromRuntimeShape(probeDims, model.names.length, model.metadata);
    if (!model.layoutPending && layout !== model.layout) {
      throw new UsageError(`${model.path}: output shape [${probeDims.join(', ')}] does not match the expected ${model.layout} layout`);
    }
    return layout;
  } catch (err) {
    throw tooSmallForModel(model, probeDims) ?? err;
  }
}

/**
 * A dynamic-size model run at a tiny --imgsz gives an output with fewer boxes than values per
 * box, which reads like a model with another number of classes. Say what is really wrong.
 */
function tooSmallForModel(model: ResolvedModel, dims: readonly number[]): UsageError | null {
  if (!model.dynamicSpatial || dims.length !== 3) return null;
  const perBox = [4 + model.names.length, 5 + model.names.length].find((n) => dims[1] === n || dims[2] === n);
  if (perBox === undefined) return null;
  const boxes = dims[1] === perBox ? dims[2]! : dims[1]!;
  if (boxes > perBox) return null;
  const [h, w] = model.imgsz;
  return new UsageError(
    `--imgsz ${h}x${w} is too small for ${model.path} (stride ${model.stride}): at that size its output ` +
      `[${dims.join(', ')}] holds only ${boxes} boxes of ${perBox} values, which cannot be decoded; ` +
      `use a larger --imgsz (at least ${4 * model.stride}; the model's own size is ${model.metadata.imgsz ?? 'not recorded'})`,
  );
}
