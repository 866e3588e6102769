// segment: output 0 holds detections with nm mask coefficients each ([B, 4+nc+nm, N], or
// end-to-end [B, K, 6+nm]); output 1 the prototypes [B, nm, mh, mw]. Per kept detection the mask
// is built as Ultralytics does (process_mask, or process_mask_native with --retina-masks),
// detections whose mask is empty are dropped, and the mask is written as its largest outer
// contour in original-image pixels (Results.summary()'s `segments`) or as COCO RLE.
import { ModelError } from '../model/errors.js';
import { formatShape } from '../model/layout.js';
import { outerContours, largestContour } from '../postprocess/contours.js';
import { maskArea, processMask, processMaskNative, type MaskWindow, type Protos } from '../postprocess/masks.js';
import { encodeRle } from '../postprocess/rle.js';
import { roundDecimals } from '../postprocess/round.js';
import { scaleBox } from '../postprocess/scale.js';
import type { Detection, LetterboxGeometry, Polygon, Rle } from '../types.js';
import { DECIMALS, gatherExtras, keptCandidates, scalePoint, toDetection } from './boxes.js';
import { layoutWithExtras } from './outputs.js';
import type { TaskContext, TaskDefinition, TaskLayout } from './types.js';

function protosOutput(ctx: TaskContext) {
  const p = ctx.outputs[1];
  if (!p) throw new ModelError('a segmentation model needs a second output (the mask prototypes [B, nm, mh, mw]); this one has one output');
  if (p.shape !== null && p.shape.length !== 4) throw new ModelError(`output '${p.name}' (mask prototypes) has shape ${formatShape(p.shape)}; expected [B, nm, mh, mw]`);
  return p;
}

const dim = (d: unknown): number | null => (typeof d === 'number' && d > 0 ? d : null);

export const segment: TaskDefinition = {
  name: 'segment',
  description: 'boxes and instance masks',
  preprocess: 'letterbox',
  csvColumns: ['segments', 'rle'],
  recognises(ctx) {
    // Exactly two outputs, the second a 4-D prototype tensor whose nm fits the first: every
    // Ultralytics seg export. (Multi-output detection exports carry raw 4-D head tensors too.)
    if (ctx.outputs.length !== 2 || ctx.outputs[0]?.shape?.length !== 3 || ctx.outputs[1]?.shape?.length !== 4) return false;
    const nm = dim(ctx.outputs[1].shape[1]);
    const [, a, c] = ctx.outputs[0].shape;
    if (nm === null) return true;
    return (typeof a === 'number' && a > 4 + nm) || c === 6 + nm || (typeof a !== 'number' && typeof c !== 'number');
  },
  resolve(ctx) {
    const det = ctx.outputs[0];
    if (!det) throw new ModelError('the model has no outputs');
    const p = protosOutput(ctx);
    const nm = dim(p.shape?.[1]) ?? 32;
    const d = layoutWithExtras(det.shape, nm, ctx.metadata, ctx.numClassesHint, `output '${det.name}' (detections with ${nm} mask coefficients)`);
    const mh = dim(p.shape?.[2]);
    const mw = dim(p.shape?.[3]);
    return {
      task: 'segment',
      ...d,
      outputs: [
        { name: det.name, role: 'detections' },
        { name: p.name, role: 'protos' },
      ],
      extra: nm,
      kptShape: null,
      maskSize: mh !== null && mw !== null ? [mh, mw] : null,
    };
  },
  settle(declared, dims, numNames, metadata): TaskLayout {
    const [det, protos] = dims;
    if (!det || !protos || protos.length !== 4) throw new ModelError(`the warm-up run gave outputs ${dims.map((d) => formatShape([...d])).join(', ')}; expected detections and [B, nm, mh, mw] prototypes`);
    const nm = protos[1]!;
    const d = layoutWithExtras(det, nm, metadata, numNames, 'the detections output');
    if (!declared.pending && d.layout !== declared.layout) throw new ModelError(`output shape [${det.join(', ')}] does not match the expected ${declared.layout} layout`);
    if (d.numClasses !== null && d.numClasses !== numNames) {
      throw new ModelError(`the model's output [${det.join(', ')}] has ${d.numClasses} classes but ${numNames} class names are known; pass --names with exactly one name per class`);
    }
    return { ...declared, layout: d.layout, numClasses: d.numClasses ?? numNames, pending: false, extra: nm, maskSize: [protos[2]!, protos[3]!] };
  },
  decode([det, protoView], g, opts, names, spec) {
    const [nm, mh, mw] = protoView!.dims as [number, number, number];
    const protos: Protos = { data: protoView!.data, nm, mh, mw };
    const out: Detection[] = [];
    for (const c of keptCandidates(det!, opts, spec)) {
      const coeffs = gatherExtras(det!, c, spec);
      const mask = opts.retinaMasks ? processMaskNative(protos, coeffs, scaleBox(c, g), g.srcH, g.srcW) : processMask(protos, coeffs, c, g.dstH, g.dstW);
      // Ultralytics keeps only detections whose mask has a pixel.
      if (maskArea(mask) === 0) continue;
      const d = toDetection(c, g, names);
      if (opts.maskFormat === 'rle') d.rle = maskRle(mask, g, opts.retinaMasks === true);
      else d.segments = maskPolygon(mask, g, opts.retinaMasks === true);
      out.push(d);
    }
    return out;
  },
};

/** masks.xy[i] as summary() gives it: the largest outer contour, scaled to the original image. */
function maskPolygon(mask: MaskWindow, g: LetterboxGeometry, native: boolean): Polygon {
  const c = largestContour(outerContours(mask)) ?? [];
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < c.length; i += 2) {
    // Native masks are already in image pixels (scale_coords with gain 1 only clips).
    const [px, py] = native ? [Math.min(Math.max(c[i]!, 0), g.srcW), Math.min(Math.max(c[i + 1]!, 0), g.srcH)] : scalePoint(c[i]!, c[i + 1]!, g);
    x.push(roundDecimals(px, DECIMALS.pixels));
    y.push(roundDecimals(py, DECIMALS.pixels));
  }
  return { x, y };
}

/**
 * The mask at the original image size as COCO RLE. A native (--retina-masks) mask is that already;
 * a network-input mask is sampled at each image pixel's centre (nearest neighbour through the
 * letterbox), which keeps RLE lossless with respect to the mask yolo-serve computed.
 */
function maskRle(m: MaskWindow, g: LetterboxGeometry, native: boolean): Rle {
  const inside = (x: number, y: number): boolean => {
    const wx = x - m.x0;
    const wy = y - m.y0;
    return wx >= 0 && wy >= 0 && wx < m.w && wy < m.h && m.data[wy * m.w + wx] === 1;
  };
  if (native) return encodeRle(g.srcW, g.srcH, inside, (x) => x >= m.x0 && x < m.x0 + m.w);
  const gain = Math.min(g.dstH / g.srcH, g.dstW / g.srcW);
  const toNet = (v: number, pad: number, size: number): number => Math.min(size - 1, Math.floor((v + 0.5) * gain + pad));
  return encodeRle(
    g.srcW,
    g.srcH,
    (x, y) => inside(toNet(x, g.padLeft, g.dstW), toNet(y, g.padTop, g.dstH)),
    (x) => {
      const nx = toNet(x, g.padLeft, g.dstW);
      return nx >= m.x0 && nx < m.x0 + m.w;
    },
  );
}
