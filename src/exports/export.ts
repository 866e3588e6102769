// `yolo-serve export` as a function: a results file written out in the formats other tools read.
//   coco          COCO results JSON (what pycocotools' loadRes and most leaderboards take): a list of
//                 {image_id, category_id, bbox [x, y, w, h], score}. With --gt, image and category
//                 ids come from that COCO file (by file name and category name); without, image ids
//                 are the file stems when they are all numbers (COCO's own naming), else 1..N in
//                 path order, and the id → image list goes beside OUT as OUT.images.json.
//   coco-dataset  a full COCO dataset JSON (images, annotations with score, categories) for
//                 auto-labelling: annotation tools import it as ground truth.
//   yolo          a folder of YOLO txt labels (Ultralytics' save_txt format, see yolo-txt.ts).
//   voc           a folder of Pascal VOC XML files, one per image.
// Records stream through in path order (final-records.ts); only a few fields per image are kept.
import { createWriteStream, existsSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../config.js';
import type { StoredResult } from '../outputs/read-results.js';
import { cocoCategoryMapper, cocoImageIndex, loadCocoFile } from '../evaluate/ground-truth.js';
import { indexResults, RecordReader } from '../evaluate/final-records.js';
import { labelFileFor, yoloLines } from './yolo-txt.js';

export const EXPORT_FORMATS = ['coco', 'coco-dataset', 'yolo', 'voc'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  results: string;
  to: ExportFormat;
  out: string;
  /** COCO ground truth supplying image and category ids (coco, coco-dataset). */
  gt: string | null;
  withConf: boolean;
  overwrite: boolean;
}

export interface ExportReport {
  format: ExportFormat;
  out: string;
  images: number;
  detections: number;
  /** Files written (yolo, voc) or 1 (+1 for the images list). */
  files: number;
  /** Failed images (error records), left out. */
  failed: number;
  notes: string[];
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

/** Longest common folder of the paths (for relative file names). */
function commonDir(paths: string[]): string {
  if (paths.length === 0) return '';
  let parts = path.dirname(paths[0]!).split(path.sep);
  for (const p of paths) {
    const q = path.dirname(p).split(path.sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep);
}

async function checkTarget(opts: ExportOptions, isDir: boolean): Promise<void> {
  if (!existsSync(opts.out)) return;
  const st = statSync(opts.out);
  if (isDir) {
    if (!st.isDirectory()) throw new UsageError(`--out ${opts.out} is a file; --to ${opts.to} writes a folder`);
    const ext = opts.to === 'voc' ? '.xml' : '.txt';
    if (!opts.overwrite && readdirSync(opts.out).some((f) => f.endsWith(ext))) {
      throw new UsageError(`--out ${opts.out} already holds ${ext} files; pass --overwrite to write over them`);
    }
  } else {
    if (st.isDirectory()) throw new UsageError(`--out ${opts.out} is a directory; --to ${opts.to} writes a JSON file`);
    if (st.size > 0 && !opts.overwrite) throw new UsageError(`output ${opts.out} already exists; pass --overwrite to replace it`);
  }
}

/** A JSON file written piece by piece to a temporary name, renamed when complete. */
class JsonOut {
  private readonly tmp: string;
  private readonly ws: WriteStream;
  private failed: Error | null = null;
  constructor(private readonly file: string) {
    this.tmp = `${file}.tmp-${process.pid}`;
    this.ws = createWriteStream(this.tmp);
    this.ws.on('error', (e) => (this.failed ??= e));
  }
  async write(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.ws.write(text)) await new Promise<void>((res) => this.ws.once('drain', res));
  }
  async close(): Promise<void> {
    await new Promise<void>((res, rej) => this.ws.end((e?: Error | null) => (e ? rej(e) : res())));
    if (this.failed) throw this.failed;
    await rename(this.tmp, this.file);
  }
  async abort(): Promise<void> {
    this.ws.destroy();
    await unlink(this.tmp).catch(() => undefined);
  }
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** One Pascal VOC annotation. Coordinates are rounded to whole pixels, as VOC tools write them. */
export function vocXml(r: StoredResult, fileName: string): string {
  const objects = r.detections.map((d) =>
    [
      '  <object>',
      `    <name>${xmlEscape(d.name)}</name>`,
      '    <pose>Unspecified</pose>',
      '    <truncated>0</truncated>',
      '    <difficult>0</difficult>',
      '    <bndbox>',
      `      <xmin>${Math.round(d.box.x1)}</xmin>`,
      `      <ymin>${Math.round(d.box.y1)}</ymin>`,
      `      <xmax>${Math.round(d.box.x2)}</xmax>`,
      `      <ymax>${Math.round(d.box.y2)}</ymax>`,
      '    </bndbox>',
      '  </object>',
    ].join('\n'),
  );
  return [
    '<annotation>',
    `  <folder>${xmlEscape(path.basename(path.dirname(r.path)))}</folder>`,
    `  <filename>${xmlEscape(fileName)}</filename>`,
    `  <path>${xmlEscape(r.path)}</path>`,
    '  <source><database>yolo-serve</database></source>',
    `  <size><width>${r.width}</width><height>${r.height}</height><depth>3</depth></size>`,
    '  <segmented>0</segmented>',
    ...objects,
    '</annotation>',
    '',
  ].join('\n');
}

/** The COCO `segmentation` / `keypoints` fields of a detection, when its record has them. */
function cocoTaskFields(d: StoredResult['detections'][number]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (d.rle) out.segmentation = { size: d.rle.size, counts: d.rle.counts };
  else if (d.segments && d.segments.x.length > 0) out.segmentation = [d.segments.x.flatMap((x, i) => [round(x), round(d.segments!.y[i]!)])];
  if (d.keypoints) {
    const k = d.keypoints;
    out.keypoints = k.x.flatMap((x, i) => [round(x), round(k.y[i]!), k.visible ? (k.visible[i]! > 0.5 ? 2 : 0) : 2]);
    out.num_keypoints = k.visible ? k.visible.filter((v) => v > 0.5).length : k.x.length;
  }
  return out;
}

export async function exportResults(opts: ExportOptions): Promise<ExportReport> {
  const isDir = opts.to === 'yolo' || opts.to === 'voc';
  await checkTarget(opts, isDir);
  const index = await indexResults(opts.results);
  const reader = new RecordReader(index);
  const report: ExportReport = { format: opts.to, out: opts.out, images: 0, detections: 0, files: 0, failed: 0, notes: [] };
  try {
    if (isDir) await exportFolder(opts, reader, report);
    else await exportCoco(opts, reader, index.spans.map((s) => s.path), report);
  } finally {
    reader.close();
  }
  if (index.tornTail) report.notes.push(`${opts.results} ends in an incomplete record (an interrupted write); it was skipped`);
  if (report.failed > 0) report.notes.push(`${report.failed} failed images (error records) left out`);
  return report;
}

async function exportFolder(opts: ExportOptions, reader: RecordReader, report: ExportReport): Promise<void> {
  await mkdir(opts.out, { recursive: true });
  const seen = new Map<string, string>();
  let rleOnly = 0;
  for (const r of reader.all()) {
    if (r.error || r.width === null) {
      report.failed++;
      continue;
    }
    report.images++;
    report.detections += r.detections.length;
    const file = labelFileFor(opts.out, r.path, opts.to === 'voc' ? '.xml' : '.txt');
    const clash = seen.get(file);
    if (clash) throw new UsageError(`${r.path} and ${clash} would both be written to ${file} (same file name stem); export them separately`);
    seen.set(file, r.path);
    if (opts.to === 'voc') {
      await writeFile(file, vocXml(r, path.basename(r.path)));
      report.files++;
    } else {
      rleOnly += r.detections.filter((d) => d.rle && !d.segments).length;
      const lines = yoloLines(r, { withConf: opts.withConf });
      if (lines.length === 0) continue; // Ultralytics writes no file for an image without detections
      await writeFile(file, `${lines.join('\n')}\n`);
      report.files++;
    }
  }
  if (rleOnly > 0) report.notes.push(`${rleOnly} detections have RLE masks only (batch --mask-format rle): their YOLO lines are boxes; run batch with --mask-format polygon for polygon labels`);
}

async function exportCoco(opts: ExportOptions, reader: RecordReader, paths: string[], report: ExportReport): Promise<void> {
  const gt = opts.gt ? await loadCocoFile(opts.gt) : null;
  const findImage = gt ? cocoImageIndex(gt.images) : null;
  const mapper = gt ? cocoCategoryMapper(gt.categories) : null;
  // Stable image ids without a ground-truth file: numeric stems (COCO's naming), else path order.
  const stems = paths.map((p) => path.basename(p).replace(/\.[^.]*$/, ''));
  const numeric = stems.length > 0 && stems.every((s) => /^\d+$/.test(s)) && new Set(stems.map(Number)).size === stems.length;
  const root = commonDir(paths);
  const out = new JsonOut(opts.out);
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  const names = new Map<number, string>();
  let unknownImages = 0;
  let annId = 0;
  let first = true;
  try {
    await out.write(opts.to === 'coco' ? '[' : '{"info":{"description":"yolo-serve export","version":"1.0"},"annotations":[');
    let i = -1;
    for (const r of reader.all()) {
      i++;
      if (r.error || r.width === null || r.height === null) {
        report.failed++;
        continue;
      }
      let imageId: number;
      if (findImage) {
        const im = findImage(r.path);
        if (!im) {
          unknownImages++;
          continue;
        }
        imageId = im.id;
      } else {
        imageId = numeric ? Number(stems[i]) : i + 1;
      }
      report.images++;
      images.push({ id: imageId, file_name: root ? path.relative(root, r.path) : r.path, width: r.width, height: r.height });
      for (const d of r.detections) {
        const category = mapper ? mapper.map(d) : d.class;
        if (category === null) continue;
        names.set(category, d.name);
        report.detections++;
        const { x1, y1, x2, y2 } = d.box;
        const bbox = [round(x1), round(y1), round(x2 - x1), round(y2 - y1)];
        const ann =
          opts.to === 'coco'
            ? { image_id: imageId, category_id: category, bbox, score: d.confidence, ...cocoTaskFields(d) }
            : { id: ++annId, image_id: imageId, category_id: category, bbox, area: round(bbox[2]! * bbox[3]!, 4), iscrowd: 0, score: d.confidence, ...cocoTaskFields(d) };
        await out.write(`${first ? '' : ','}\n${JSON.stringify(ann)}`);
        first = false;
      }
    }
    const categories = gt ? gt.categories.map((c) => ({ id: c.id, name: c.name })) : [...names].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
    await out.write(opts.to === 'coco' ? '\n]\n' : `\n],\n"images":${JSON.stringify(images)},\n"categories":${JSON.stringify(categories)}}\n`);
    await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
  report.files = 1;
  if (unknownImages > 0) report.notes.push(`${unknownImages} images are not in ${opts.gt} and were left out`);
  const note = mapper?.note();
  if (note) report.notes.push(note);
  if (opts.to === 'coco' && !gt) {
    const list = `${opts.out.replace(/\.json$/i, '')}.images.json`;
    await writeFile(list, `${JSON.stringify({ images: images.sort((a, b) => a.id - b.id), categories: [...names].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name })) })}\n`);
    report.files++;
    report.notes.push(`image ids are ${numeric ? 'the numeric file stems' : '1..N in path order'}; the id → image list is in ${list}`);
  }
}
