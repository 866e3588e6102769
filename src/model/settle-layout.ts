// The layout a model's detection output really has, settled from the dims of one real inference
// (the warm-up probe). Shared by `batch` and `inspect` so both say the same about a model.
import { UsageError } from '../config.js';
import type { OutputLayout } from '../types.js';
import { detectLayoutFromRuntimeShape } from './layout.js';
import type { ResolvedModel } from './resolve.js';

export function settleLayout(model: ResolvedModel, probeDims: readonly number[]): OutputLayout {
  // The declared output shape may be symbolic; the warm-up run's real dims settle the layout.
  const { layout } = detectLayoutFromRuntimeShape(probeDims, model.names.length, model.metadata);
  if (!model.layoutPending && layout !== model.layout) {
    throw new UsageError(`${model.path}: output shape [${probeDims.join(', ')}] does not match the expected ${model.layout} layout`);
  }
  return layout;
}
