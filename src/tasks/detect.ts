// detect: boxes only. Output 0 is [B, 4+nc, N] (YOLOv8/11, v5u), [B, N, 5+nc] (YOLOv5) or
// [B, K, 6] (end-to-end); other outputs of multi-output exports are ignored.
import { ModelError } from '../model/errors.js';
import { detectLayout, detectLayoutFromRuntimeShape } from '../model/layout.js';
import { keptCandidates, toDetection } from './boxes.js';
import type { TaskDefinition, TaskLayout } from './types.js';

export const detect: TaskDefinition = {
  name: 'detect',
  description: 'boxes',
  preprocess: 'letterbox',
  csvColumns: [],
  // The fallback: registry.ts asks it last.
  recognises: () => true,
  resolve({ outputs, metadata, numClassesHint }) {
    const out = outputs[0];
    if (!out) throw new ModelError('the model has no outputs');
    let d;
    try {
      d = detectLayout(out.shape, metadata, numClassesHint);
    } catch (err) {
      if (err instanceof ModelError) throw new ModelError(`output '${out.name}': ${err.message}`);
      throw err;
    }
    return { task: 'detect', layout: d.layout, numClasses: d.numClasses, pending: d.pending, outputs: [{ name: out.name, role: 'detections' }], extra: 0, kptShape: null, maskSize: null };
  },
  settle(declared, dims, numNames, metadata): TaskLayout {
    const { layout, numClasses } = detectLayoutFromRuntimeShape(dims[0]!, numNames, metadata);
    if (!declared.pending && layout !== declared.layout) {
      throw new ModelError(`output shape [${dims[0]!.join(', ')}] does not match the expected ${declared.layout} layout`);
    }
    return { ...declared, layout, numClasses, pending: false };
  },
  decode([det], geometry, opts, names, spec) {
    return keptCandidates(det!, opts, spec).map((c) => toDetection(c, geometry, names));
  },
};
