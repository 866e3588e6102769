// The loop a user would write first: one image at a time, sharp letterbox (resize + extend),
// HWC→CHW float32, session.run with ORT's default options, a simple NMS, one JSON line appended.
// It is the baseline yolo-serve has to beat; it is deliberately straightforward, not sabotaged.
import { appendFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { cpuSecondsSince } from './util.js';

const CONF = 0.25;
const IOU = 0.7;

async function letterbox(file, size) {
  const img = sharp(file).rotate();
  const meta = await img.metadata();
  const upright = (meta.orientation ?? 1) >= 5;
  const w = upright ? meta.height : meta.width;
  const h = upright ? meta.width : meta.height;
  const r = Math.min(size / w, size / h);
  const nw = Math.round(w * r);
  const nh = Math.round(h * r);
  const left = Math.floor((size - nw) / 2);
  const top = Math.floor((size - nh) / 2);
  const { data, info } = await img
    .resize(nw, nh, { fit: 'fill' })
    .extend({ left, right: size - nw - left, top, bottom: size - nh - top, background: { r: 114, g: 114, b: 114 } })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  const ch = info.channels;
  for (let i = 0; i < plane; i++) {
    tensor[i] = data[i * ch] / 255;
    tensor[plane + i] = data[i * ch + 1] / 255;
    tensor[2 * plane + i] = data[i * ch + 2] / 255;
  }
  return { tensor, w, h, r, left, top };
}

function iou(a, b) {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

/** [1, 4+nc, N] (YOLOv8/11 head) → boxes in original-image pixels. */
function detect(out, lb) {
  const [, rows, n] = out.dims;
  const d = out.data;
  const boxes = [];
  for (let j = 0; j < n; j++) {
    let best = 0;
    let cls = -1;
    for (let c = 4; c < rows; c++) {
      const v = d[c * n + j];
      if (v > best) {
        best = v;
        cls = c - 4;
      }
    }
    if (best <= CONF) continue;
    const cx = d[j];
    const cy = d[n + j];
    const bw = d[2 * n + j];
    const bh = d[3 * n + j];
    boxes.push({
      cls,
      score: best,
      x1: (cx - bw / 2 - lb.left) / lb.r,
      y1: (cy - bh / 2 - lb.top) / lb.r,
      x2: (cx + bw / 2 - lb.left) / lb.r,
      y2: (cy + bh / 2 - lb.top) / lb.r,
    });
  }
  boxes.sort((a, b) => b.score - a.score);
  const kept = [];
  for (const b of boxes) if (!kept.some((k) => k.cls === b.cls && iou(k, b) > IOU)) kept.push(b);
  return kept;
}

/**
 * Runs the naive loop over `images` (cycling) until `minSeconds` have passed and every image was
 * seen once. Returns images/s and CPU per image.
 */
export async function measureNaive({ model, images, size, inputName, out, minSeconds }) {
  const session = await ort.InferenceSession.create(model);
  writeFileSync(out, '');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  while (done < images.length || performance.now() - t0 < minSeconds * 1000) {
    const file = images[done % images.length];
    const lb = await letterbox(file, size);
    const result = await session.run({ [inputName]: new ort.Tensor('float32', lb.tensor, [1, 3, size, size]) });
    const dets = detect(result[session.outputNames[0]], lb);
    appendFileSync(out, JSON.stringify({ path: file, detections: dets }) + '\n');
    done++;
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpuSecondsSince(cpu0);
  await session.release();
  return { ips: done / wallS, cpuMsPerImage: (1000 * cpuS) / done, images: done, coresUsed: cpuS / wallS };
}
