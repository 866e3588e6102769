// Ground truth for `eval`: YOLO txt labels (one file per image, normalised "class cx cy w h",
// polygon lines turned into their bounding box as Ultralytics does) or a COCO instances.json.
// An image without a label file is a background image (no objects), as Ultralytics treats it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../config.js';
import type { GtObject } from './coco-eval.js';
import { polygonToRle, segmentationToRle } from './masks.js';

/**
 * What the ground truth must carry besides boxes: masks for segm evaluation, and the keypoint
 * count for keypoint evaluation (YOLO pose lines are "class cx cy w h" + n × (x y [v])).
 */
export interface GtNeeds {
  masks: boolean;
  keypoints: number | null;
}

const BOXES_ONLY: GtNeeds = { masks: false, keypoints: null };

/** Ultralytics scales OKS by the box area × 0.53 (utils/metrics.py kpt_iou); YOLO pose labels have no segment area. */
export const POSE_AREA_FACTOR = 0.53;

/** One image's ground truth. `sortKey` orders images as COCOeval orders image ids. */
export interface LabelledImage {
  sortKey: number;
  objects: GtObject[];
  /** False when no label file exists (a background image). */
  labelled: boolean;
}

export interface ImageRef {
  path: string;
  width: number;
  height: number;
}

export interface GroundTruth {
  kind: 'yolo' | 'coco';
  /** How the labels were found, for the report. */
  source: string;
  /** The image's ground truth; null when a COCO file does not list the image. `seq` is its position in path order. */
  forImage(img: ImageRef, seq: number, needs?: GtNeeds): Promise<LabelledImage | null>;
  /** The evaluation category of a detection; null when it maps to none (counted, then ignored). */
  categoryOf(det: { class: number; name: string }): number | null;
  /** Categories the ground truth declares (COCO: its categories list); empty for YOLO labels. */
  declaredCategories(): { id: number; name: string }[];
  /** Notes for the report (e.g. how detection classes were mapped to COCO categories). */
  notes: string[];
}

/**
 * Where Ultralytics looks for an image's label: the last `/images/` path component becomes
 * `/labels/` and the extension `.txt` (data/utils.py img2label_paths).
 */
export function conventionalLabelPath(imagePath: string): string | null {
  const sep = `${path.sep}images${path.sep}`;
  const at = imagePath.lastIndexOf(sep);
  if (at < 0) return null;
  const swapped = `${imagePath.slice(0, at)}${path.sep}labels${path.sep}${imagePath.slice(at + sep.length)}`;
  return swapped.replace(/\.[^./\\]*$/, '') + '.txt';
}

/** One YOLO label line → a box in pixels, COCO [x, y, w, h]; polygon lines give their bounding box. */
export function yoloLineToBbox(values: number[], width: number, height: number): { cls: number; bbox: [number, number, number, number] } {
  const cls = values[0]!;
  if (values.length > 6) {
    // A segment: class x1 y1 x2 y2 … (normalised), as Ultralytics' segments2boxes reads it.
    const xs = values.filter((_, i) => i % 2 === 1);
    const ys = values.filter((_, i) => i > 0 && i % 2 === 0);
    const x1 = Math.min(...xs) * width;
    const y1 = Math.min(...ys) * height;
    return { cls, bbox: [x1, y1, Math.max(...xs) * width - x1, Math.max(...ys) * height - y1] };
  }
  // class cx cy w h, and an optional 6th value (a confidence, as save_txt --with-conf writes).
  const [, cx, cy, w, h] = values as [number, number, number, number, number];
  return { cls, bbox: [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height] };
}

/**
 * Parses a YOLO label file's text; `where` names it in errors. Areas are box areas (× 0.53 for
 * pose, as Ultralytics scales OKS). With needs.masks, each object gets its polygon's mask (a box
 * line: the box's); with needs.keypoints = n, lines are pose lines with n keypoints.
 */
export function parseYoloLabelText(text: string, width: number, height: number, where: string, needs: GtNeeds = BOXES_ONLY): GtObject[] {
  const out: GtObject[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const values = line.split(/\s+/).map(Number);
    if (values.length < 5 || values.some((v) => !Number.isFinite(v)) || !Number.isInteger(values[0]) || values[0]! < 0) {
      throw new UsageError(`${where} line ${n + 1}: not a YOLO label ("class cx cy w h" or "class x1 y1 x2 y2 …"): "${raw.slice(0, 80)}"`);
    }
    if (needs.keypoints !== null) {
      out.push(poseLine(values, width, height, needs.keypoints, `${where} line ${n + 1}`));
      continue;
    }
    const { cls, bbox } = yoloLineToBbox(values, width, height);
    const obj: GtObject = { category: cls, bbox, area: bbox[2] * bbox[3], iscrowd: false };
    if (needs.masks) {
      const poly =
        values.length > 6
          ? values.slice(1).map((v, i) => v * (i % 2 === 0 ? width : height))
          : [bbox[0], bbox[1], bbox[0], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1]];
      obj.mask = polygonToRle(poly, height, width);
    }
    out.push(obj);
  }
  return out;
}

/** "class cx cy w h" followed by n keypoints as (x y v) or (x y), normalised. */
function poseLine(values: number[], width: number, height: number, n: number, where: string): GtObject {
  const per = values.length - 5 === 3 * n ? 3 : values.length - 5 === 2 * n ? 2 : 0;
  if (per === 0) throw new UsageError(`${where}: a pose label needs 5 + ${n}×3 (or ${n}×2) values for ${n} keypoints, found ${values.length}`);
  const { cls, bbox } = yoloLineToBbox(values.slice(0, 5), width, height);
  const keypoints: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = 5 + per * i;
    keypoints.push(values[at]! * width, values[at + 1]! * height, per === 3 ? values[at + 2]! : 2);
  }
  return { category: cls, bbox, area: bbox[2] * bbox[3] * POSE_AREA_FACTOR, iscrowd: false, keypoints };
}

/** YOLO labels: `dir` holds `<stem>.txt` per image; null: the images/ ↔ labels/ convention. */
export function yoloGroundTruth(dir: string | null): GroundTruth {
  const listing = dir ? new Set(readdirSync(dir).filter((f) => f.endsWith('.txt'))) : null;
  return {
    kind: 'yolo',
    source: dir ? `${dir} (YOLO txt)` : 'YOLO txt beside the images (images/ → labels/)',
    notes: [],
    async forImage(img, seq, needs = BOXES_ONLY) {
      const name = `${path.basename(img.path).replace(/\.[^.]*$/, '')}.txt`;
      const file = dir ? path.join(dir, name) : conventionalLabelPath(img.path);
      let text: string | null = null;
      // A label file is a few hundred bytes: read synchronously, and in a labels folder only the
      // names its listing has (most misses cost nothing).
      if (file && (!listing || listing.has(name))) {
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read label file ${file}: ${(err as Error).message}`);
        }
      }
      return { sortKey: seq, objects: text === null ? [] : parseYoloLabelText(text, img.width, img.height, file!, needs), labelled: text !== null };
    },
    categoryOf: (det) => det.class,
    declaredCategories: () => [],
  };
}

interface CocoFile {
  images?: { id: number; file_name: string; width?: number; height?: number }[];
  annotations?: { image_id: number; category_id: number; bbox: number[]; area?: number; iscrowd?: number | boolean; segmentation?: unknown; keypoints?: number[] }[];
  categories?: { id: number; name: string }[];
}

/** Reads a COCO instances JSON (images, annotations, categories). */
export async function loadCocoFile(file: string): Promise<Required<CocoFile>> {
  let v: CocoFile;
  try {
    v = JSON.parse(await readFile(file, 'utf8')) as CocoFile;
  } catch (err) {
    throw new UsageError(`cannot read COCO file ${file}: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || !Array.isArray(v.images) || !Array.isArray(v.categories)) {
    throw new UsageError(`${file}: not a COCO dataset JSON (needs "images" and "categories" lists)`);
  }
  return { images: v.images, annotations: v.annotations ?? [], categories: v.categories };
}

/** Looks up COCO images by file name: the whole file_name, else its base name. */
export function cocoImageIndex(images: CocoFile['images'] & object): (imagePath: string) => { id: number; file_name: string } | null {
  const byName = new Map<string, { id: number; file_name: string }>();
  const byBase = new Map<string, { id: number; file_name: string } | null>();
  for (const im of images) {
    byName.set(im.file_name, im);
    const base = path.basename(im.file_name);
    byBase.set(base, byBase.has(base) ? null : im); // ambiguous base names are not used
  }
  return (p) => {
    // The longest trailing part of the path that is a file_name, e.g. "val2017/0001.jpg".
    const parts = p.split(/[\\/]/);
    for (let k = parts.length; k >= 1; k--) {
      const im = byName.get(parts.slice(parts.length - k).join('/'));
      if (im) return im;
    }
    return byBase.get(path.basename(p)) ?? null;
  };
}

/**
 * Detection class → COCO category: by name when the detections' names are category names (the
 * usual case: a COCO-trained model against COCO annotations), otherwise the i-th category in id
 * order (which is Ultralytics' coco80 → coco91 mapping for COCO).
 */
export function cocoCategoryMapper(categories: { id: number; name: string }[]): { map(det: { class: number; name: string }): number | null; note(): string | null } {
  const byName = new Map(categories.map((c) => [c.name, c.id]));
  const sorted = [...categories].sort((a, b) => a.id - b.id);
  let byNameHits = 0;
  let byIndexHits = 0;
  return {
    map(det) {
      const id = byName.get(det.name);
      if (id !== undefined) {
        byNameHits++;
        return id;
      }
      const c = sorted[det.class];
      if (c) byIndexHits++;
      return c ? c.id : null;
    },
    note: () => (byIndexHits > 0 ? `${byIndexHits} detections whose name is not a category name were mapped by class index (class i → the i-th category by id)${byNameHits ? `; ${byNameHits} by name` : ''}` : null),
  };
}

export async function cocoGroundTruth(file: string): Promise<GroundTruth> {
  const coco = await loadCocoFile(file);
  const find = cocoImageIndex(coco.images);
  const anns = new Map<number, CocoFile['annotations'] & object>();
  for (const a of coco.annotations) {
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4) throw new UsageError(`${file}: annotation of image ${a.image_id} has no [x, y, w, h] bbox`);
    const list = anns.get(a.image_id) ?? anns.set(a.image_id, []).get(a.image_id)!;
    list.push(a);
  }
  const sizes = new Map(coco.images.map((im) => [im.id, im]));
  // Masks are rasterised per image when asked for, so memory holds the annotations, not masks.
  const toObject = (a: (CocoFile['annotations'] & object)[number], needs: GtNeeds, img: ImageRef): GtObject => {
    const bbox = a.bbox as [number, number, number, number];
    const obj: GtObject = { category: a.category_id, bbox, area: a.area ?? bbox[2] * bbox[3], iscrowd: Boolean(a.iscrowd) };
    if (needs.masks) {
      const im = sizes.get(a.image_id);
      const [h, w] = [im?.height ?? img.height, im?.width ?? img.width];
      const box = [bbox[0], bbox[1], bbox[0], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1]];
      obj.mask = segmentationToRle(a.segmentation, h, w) ?? polygonToRle(box, h, w);
    }
    if (needs.keypoints !== null) obj.keypoints = Array.isArray(a.keypoints) ? a.keypoints : new Array<number>(3 * needs.keypoints).fill(0);
    return obj;
  };
  const mapper = cocoCategoryMapper(coco.categories);
  const gt: GroundTruth = {
    kind: 'coco',
    source: `${file} (COCO, ${coco.images.length} images, ${coco.annotations.length} annotations)`,
    notes: [],
    async forImage(img, _seq, needs = BOXES_ONLY) {
      const im = find(img.path);
      if (!im) return null;
      return { sortKey: im.id, objects: (anns.get(im.id) ?? []).map((a) => toObject(a, needs, img)), labelled: true };
    },
    categoryOf: (det) => mapper.map(det),
    declaredCategories: () => coco.categories.map((c) => ({ id: c.id, name: c.name })),
  };
  Object.defineProperty(gt, 'notes', { get: () => [mapper.note()].filter((n): n is string => n !== null) });
  return gt;
}

/** `--labels`: a .json file is COCO; a directory holds YOLO txt files; absent: the images/ → labels/ convention. */
export async function openGroundTruth(labels: string | null): Promise<GroundTruth> {
  if (labels === null) return yoloGroundTruth(null);
  if (!existsSync(labels)) throw new UsageError(`--labels ${labels}: no such file or directory`);
  if (statSync(labels).isDirectory()) return yoloGroundTruth(labels);
  if (labels.toLowerCase().endsWith('.json')) return cocoGroundTruth(labels);
  throw new UsageError(`--labels ${labels}: expected a folder of YOLO .txt labels or a COCO .json file`);
}
