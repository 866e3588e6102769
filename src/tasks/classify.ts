// classify: output 0 is [B, nc] class scores. Preprocessing is classify_transforms (short side
// resized with Pillow's bilinear filter, centre crop, no letterbox; preprocess/classify.ts); the
// record carries summary()'s top-1 fields and top5 (postprocess/classify.ts), no detections.
// A [B, nc] output is never a detector's, so a model without `task` metadata is recognised too.
import { ModelError } from '../model/errors.js';
import { formatShape } from '../model/layout.js';
import { classifyClassesOf, classifyRow } from '../postprocess/classify.js';
import { DECIMALS } from './boxes.js';
import type { TaskDefinition, TaskLayout } from './types.js';

function classesOf(shape: Parameters<typeof classifyClassesOf>[0], what: string): number | null {
  try {
    return classifyClassesOf(shape);
  } catch (err) {
    throw new ModelError(`${what}: ${(err as Error).message}`);
  }
}

export const classify: TaskDefinition = {
  name: 'classify',
  description: 'image classification (top 5 classes)',
  preprocess: 'center-crop',
  csvColumns: ['top5'],
  recognises: (ctx) => ctx.outputs.length === 1 && ctx.outputs[0]?.shape?.length === 2,
  resolve({ outputs }) {
    const out = outputs[0];
    if (!out) throw new ModelError('the model has no outputs');
    const numClasses = classesOf(out.shape, `output '${out.name}'`);
    return { task: 'classify', layout: 'class-scores', numClasses, pending: false, outputs: [{ name: out.name, role: 'scores' }], extra: 0, kptShape: null, maskSize: null };
  },
  settle(declared, dims, numNames): TaskLayout {
    const real = dims[0]!;
    const numClasses = classesOf(real, 'the class scores output');
    if (numClasses !== numNames) {
      throw new ModelError(`the model's output ${formatShape([...real])} has ${numClasses} classes but ${numNames} class names are known; pass --names with exactly one name per class`);
    }
    return { ...declared, numClasses, pending: false };
  },
  decode: () => [],
  classify([scores], names) {
    return classifyRow(scores!.data, names, DECIMALS.confidence);
  },
};
