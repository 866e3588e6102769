// The layout a model's outputs really have, settled from the dims of one real inference (the
// warm-up probe). Shared by `batch` and `inspect` so both say the same about a model.
import { UsageError } from '../config.js';
import { taskNamed } from '../tasks/registry.js';
import type { TaskLayout } from '../tasks/types.js';
import { ModelError } from './errors.js';
import type { ResolvedModel } from './resolve.js';

/** The task layout checked against the probe's dims (one array per fetched output). */
export function settleTask(model: ResolvedModel, probeDims: readonly (readonly number[])[]): TaskLayout {
  const task = taskNamed(model.task)!;
  try {
    return task.settle(model.taskLayout, probeDims, model.names.length, model.metadata);
  } catch (err) {
    const small = tooSmallForModel(model, probeDims[0] ?? []);
    if (small) throw small;
    if (err instanceof ModelError) throw new UsageError(`${model.path}: ${err.message}`);
    throw err;
  }
}

/**
 * A dynamic-size detection model run at a tiny --imgsz gives an output with fewer boxes than
 * values per box, which reads like a model with another number of classes. Say what is wrong.
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
