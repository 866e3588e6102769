#!/usr/bin/env node
// Writes the expected-detections fixture used by the parity acceptance test:
// runs the independent Ultralytics re-implementation (test/helpers/ultralytics-reference.js)
// over every image of a folder and stores the boxes.
//
//   node scripts/make-parity-fixture.js [--model M] [--images DIR] [--out FILE]
//                                       [--conf 0.25] [--iou 0.7] [--metrics] [--ap-conf 0.001]
//
// Defaults: ../shared/models/yolov8n_int8_640.onnx on ../shared/images/coco128,
// written to test/fixtures/coco128-yolov8n_int8_640.expected.json.
// --metrics also scores the reference against the YOLO labels in DIR/labels:
// P/R at --conf from the fixture run, AP50 from a second run at --ap-conf.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DEFAULTS, loadReferenceSession, referencePredictWithInfo } from '../test/helpers/ultralytics-reference.js';
import { ap50, readYoloLabels } from '../test/helpers/detection-metrics.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(repoRoot, '..', 'shared');

const RECIPE =
  'Ultralytics predict re-implemented independently (test/helpers/ultralytics-reference.js): ' +
  'sharp decode (EXIF rotate, sRGB, no alpha) to RGB uint8; LetterBox(640x640, auto=False, scaleup=True, center=True, pad 114) ' +
  'with OpenCV INTER_LINEAR 8-bit fixed-point resize; /255 float32 CHW; onnxruntime-node CPU; ' +
  'non_max_suppression(multi_label=False, agnostic=False, max_det=300, max_nms=30000, max_wh=7680) with torchvision nms semantics in float32; ' +
  'scale_boxes(pad=round((640-dim*gain)/2-0.1)) and clip, float32. conf rounded to 5 decimals, box to 2 decimals (toFixed).';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models', 'yolov8n_int8_640.onnx') },
    images: { type: 'string', default: path.join(shared, 'images', 'coco128') },
    out: { type: 'string', default: path.join(repoRoot, 'test', 'fixtures', 'coco128-yolov8n_int8_640.expected.json') },
    conf: { type: 'string', default: String(DEFAULTS.conf) },
    iou: { type: 'string', default: String(DEFAULTS.iou) },
    metrics: { type: 'boolean', default: false },
    'ap-conf': { type: 'string', default: '0.001' },
  },
});

const round = (v, digits) => Number(v.toFixed(digits));

// One detection per line keeps the fixture small and its diffs readable.
function formatFixture(fixture) {
  const { images, ...head } = fixture;
  const lines = ['{'];
  for (const [key, value] of Object.entries(head)) lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  lines.push('  "images": {');
  const names = Object.keys(images);
  names.forEach((name, i) => {
    const { width, height, detections } = images[name];
    const body = detections.map((d) => `      ${JSON.stringify(d)}`).join(',\n');
    const list = body ? `[\n${body}\n    ]` : '[]';
    const comma = i < names.length - 1 ? ',' : '';
    lines.push(`    ${JSON.stringify(name)}: { "width": ${width}, "height": ${height}, "detections": ${list} }${comma}`);
  });
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function predictAll(session, files, opts) {
  const results = {};
  for (const file of files) {
    results[file] = await referencePredictWithInfo(session, path.join(args.images, file), opts);
  }
  return results;
}

function labelsFor(results) {
  const gts = {};
  for (const [file, r] of Object.entries(results)) {
    const label = path.join(args.images, 'labels', file.replace(/\.[^.]+$/, '.txt'));
    gts[file] = readYoloLabels(label, r.width, r.height);
  }
  return gts;
}

async function main() {
  const conf = Number(args.conf);
  const iou = Number(args.iou);
  const files = fs
    .readdirSync(args.images)
    .filter((f) => /\.(jpe?g|png|bmp|webp|tiff?)$/i.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no images in ${args.images}`);

  const t0 = performance.now();
  const session = await loadReferenceSession(args.model);
  const results = await predictAll(session, files, { conf, iou });
  const seconds = (performance.now() - t0) / 1000;

  const images = {};
  let total = 0;
  for (const file of files) {
    const r = results[file];
    total += r.detections.length;
    images[file] = {
      width: r.width,
      height: r.height,
      detections: r.detections.map((d) => ({
        cls: d.cls,
        conf: round(d.conf, 5),
        box: [round(d.x1, 2), round(d.y1, 2), round(d.x2, 2), round(d.y2, 2)],
      })),
    };
  }
  const fixture = {
    model: path.basename(args.model),
    model_sha256: sha256(args.model),
    recipe: RECIPE,
    conf,
    iou,
    max_det: DEFAULTS.maxDet,
    imgsz: 640,
    total_detections: total,
    images,
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  const text = formatFixture(fixture);
  assert.deepEqual(JSON.parse(text), fixture); // the hand-rolled layout must stay valid JSON
  fs.writeFileSync(args.out, text);
  console.log(`wrote ${path.relative(process.cwd(), args.out)}: ${files.length} images, ${total} detections, ${seconds.toFixed(1)} s`);

  if (!args.metrics) return;
  const gts = labelsFor(results);
  const preds = Object.fromEntries(files.map((f) => [f, results[f].detections]));
  const atConf = ap50(preds, gts, { confThr: conf });
  console.log(
    `vs labels at conf ${conf}: P ${atConf.precision.toFixed(3)} R ${atConf.recall.toFixed(3)} ` +
      `(TP ${atConf.tp}, FP ${atConf.fp}, GT ${atConf.nGt})`,
  );

  const apConf = Number(args['ap-conf']);
  const t1 = performance.now();
  const low = await predictAll(session, files, { conf: apConf, iou });
  const lowPreds = Object.fromEntries(files.map((f) => [f, low[f].detections]));
  const m = ap50(lowPreds, gts, { confThr: conf });
  console.log(
    `AP50 at conf ${apConf} (${((performance.now() - t1) / 1000).toFixed(1)} s): ` +
      `mAP50 (per-class mean, ${Object.keys(m.perClass).length} classes) ${m.map50.toFixed(3)}, ` +
      `class-pooled AP50 ${m.pooledAp50.toFixed(3)}; P/R at ${conf} from this run ${m.precision.toFixed(3)}/${m.recall.toFixed(3)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
