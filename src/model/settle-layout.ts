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
    if (err instanceof ModelError) throw new UsageError(`${model.path}: ${err.message}`);
    throw err;
  }
}
