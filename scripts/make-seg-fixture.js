#!/usr/bin/env node
// Writes the expected segmentation results for the segmentation acceptance test: runs the
// independent Ultralytics re-implementation (test/helpers/ultralytics-seg-reference.js) over every
// image of a folder and stores boxes and masks (original-image size, COCO RLE).
//
//   node scripts/make-seg-fixture.js --model ../shared/models/yolo11n-seg_int8_640.onnx [--images DIR] [--out FILE]
//
// Default output: test/fixtures/coco128-<model name>.seg.expected.json. Slow (full-size masks
// with plain loops): about a minute per model on an idle 2-core machine.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSegSession, referenceSegment } from '../test/helpers/ultralytics-seg-reference.js';
import { encodeMask } from '../test/helpers/coco-rle.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models', 'yolo11n-seg_int8_640.onnx') },
    images: { type: 'string', default: path.join(shared, 'images', 'coco128') },
    out: { type: 'string' },
  },
});
const modelName = path.basename(args.model);
const out = args.out ?? path.join(repoRoot, 'test', 'fixtures', `coco128-${modelName.replace(/\.onnx$/, '')}.seg.expected.json`);

const session = await loadSegSession(args.model);
const files = fs.readdirSync(args.images).filter((f) => /\.jpe?g$/i.test(f)).sort();
const lines = [];
for (const name of files) {
  const r = await referenceSegment(session, path.join(args.images, name));
  const dets = r.detections.map((d) => ({
    cls: d.cls,
    conf: Number(d.conf.toFixed(5)),
    box: [d.x1, d.y1, d.x2, d.y2].map((v) => Number(v.toFixed(2))),
    rle: encodeMask(d.mask, r.width, r.height),
  }));
  lines.push(`    ${JSON.stringify(name)}: ${JSON.stringify({ width: r.width, height: r.height, detections: dets })}`);
}
const head = {
  model: modelName,
  recipe: 'test/helpers/ultralytics-seg-reference.js: LetterBox 640, NMS (conf 0.25, iou 0.7, max_det 300) or end-to-end rows, process_mask(upsample=True), empty masks dropped, masks to image size with scale_image (cv2 INTER_LINEAR on 0/255, >= 128); RLE column-major (pycocotools string)',
  conf: 0.25,
  iou: 0.7,
};
const text = `{\n${Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`).join('\n')}\n  "images": {\n${lines.join(',\n')}\n  }\n}\n`;
fs.writeFileSync(out, text);
console.log(`${out}: ${files.length} images, ${lines.length} records`);
