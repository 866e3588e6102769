// `yolo-serve inspect MODEL`: what yolo-serve will do with a model — its declared inputs and
// outputs, the detection layout it settles on, class names, input size, batching, and which
// execution providers this machine offers. One probe inference (on the CPU) confirms the layout
// and that the model runs at the chosen size; --no-probe skips it.
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { parseImgsz } from '../config.js';
import { InferenceError, InferencePool } from '../inference/pool.js';
import { DEVICE_KINDS, type DeviceKind } from '../inference/devices.js';
import { defaultProbe, planDevices, unavailableReason } from '../inference/providers.js';
import { toolVersions, type Versions } from '../metrics/versions.js';
import { EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, exitCodesHelp, type ExitCode } from '../exit-codes.js';
import { sha256File } from '../model/digest.js';
import { ModelError } from '../model/errors.js';
import { formatShape, isEnd2end } from '../model/layout.js';
import { readOnnxFile } from '../model/onnx-file.js';
import { parsePyLiteral } from '../model/py-literal.js';
import { resolveModelHeader, type ResolvedModel } from '../model/resolve.js';
import { settleTask } from '../model/settle-layout.js';
import type { OutputRole, TaskLayout } from '../tasks/types.js';
import type { Dim, OutputLayout } from '../types.js';

export const INSPECT_SCHEMA = 1;

export interface InspectTensor {
  index: number;
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export interface InspectReport {
  schema: typeof INSPECT_SCHEMA;
  model: { path: string; size_bytes: number; sha256: string };
  onnx: { ir_version: number; opset: number | null; producer: string; producer_version: string };
  inputs: InspectTensor[];
  /** All outputs with the role the task gives each (detections, protos); the rest are ignored. */
  outputs: (InspectTensor & { role: OutputRole })[];
  metadata_keys: string[];
  /** False when yolo-serve cannot run this model; `error` says why and the fields below are null. */
  usable: boolean;
  error: string | null;
  layout: { name: OutputLayout; description: string; source: 'metadata' | 'output shape' | 'probe' | 'guess' } | null;
  classes: { count: number; source: 'metadata' | 'file' | 'coco80'; names: string[] } | null;
  imgsz: [number, number] | null;
  imgsz_source: 'input shape' | '--imgsz' | 'metadata' | 'default' | null;
  stride: number | null;
  task: string | null;
  /** pose: [keypoints, values per keypoint]. */
  kpt_shape: [number, number] | null;
  /** segment: prototype mask size [h, w] (masks are upsampled from it to imgsz). */
  mask_size: [number, number] | null;
  end2end: boolean | null;
  batch: { dynamic: boolean; dim: Dim } | null;
  spatial: { dynamic: boolean; dims: [Dim, Dim] } | null;
  /** output_dims: the detections output's; outputs_dims: every output the task reads, in role order. */
  probe: { ran: boolean; ok: boolean | null; device: string | null; input_dims: number[] | null; output_dims: number[] | null; outputs_dims: number[][] | null; ms: number | null; error: string | null };
  providers: { device: DeviceKind; bundled: boolean | null; usable: boolean; reason: string | null }[];
  /** Devices `--device auto` would try, in order. */
  auto_order: DeviceKind[];
  versions: Versions;
}

export interface InspectOptions {
  namesFile?: string;
  imgsz?: [number, number];
  /** Run one inference to settle the layout and check the model runs (default true). */
  probe?: boolean;
}

const LAYOUT_DESCRIPTIONS: Record<OutputLayout, string> = {
  'xywh-classes': '[B, 4+nc, N]: cx, cy, w, h, class scores (YOLOv8/YOLO11/YOLOv5u); NMS applied',
  'xywh-obj-classes': '[B, N, 5+nc]: cx, cy, w, h, objectness, class probabilities (YOLOv5); NMS applied',
  'xyxy-score-class': '[B, K, 6]: x1, y1, x2, y2, score, class (end-to-end YOLOv10/YOLO26, nms=True); no NMS',
  'xywh-classes-angle': '[B, 4+nc+1, N]: cx, cy, w, h, class scores, angle (YOLOv8/YOLO11 OBB); rotated NMS (ProbIoU) applied',
  'xywh-score-class-angle': '[B, K, 7]: cx, cy, w, h, score, class, angle (end-to-end YOLO26 OBB); no NMS',
  'class-scores': '[B, nc]: class probabilities (softmax applied when a row is not one); top 5 written',
};


export async function inspectModel(path: string, opts: InspectOptions = {}): Promise<InspectReport> {
  const header = await readOnnxFile(path);
  const [sizeBytes, sha256] = await Promise.all([stat(path).then((s) => s.size), sha256File(path)]);
  const report: InspectReport = {
    schema: INSPECT_SCHEMA,
    model: { path, size_bytes: sizeBytes, sha256 },
    onnx: { ir_version: header.irVersion, opset: header.opsetVersion, producer: header.producerName, producer_version: header.producerVersion },
    inputs: header.inputs.map((v, index) => ({ index, name: v.name, dtype: v.elemType, shape: v.shape })),
    outputs: header.outputs.map((v, index) => ({ index, name: v.name, dtype: v.elemType, shape: v.shape, role: (index === 0 ? 'detections' : 'ignored') as OutputRole })),
    metadata_keys: Object.keys(header.metadata).sort(),
    usable: false,
    error: null,
    layout: null,
    classes: null,
    imgsz: null,
    imgsz_source: null,
    stride: null,
    task: header.metadata.task ?? null,
    kpt_shape: null,
    mask_size: null,
    end2end: null,
    batch: null,
    spatial: null,
    probe: { ran: false, ok: null, device: null, input_dims: null, output_dims: null, outputs_dims: null, ms: null, error: null },
    providers: await providerReport(),
    auto_order: planDevices('auto').candidates,
    versions: toolVersions(),
  };

  let model: ResolvedModel;
  try {
    model = await resolveModelHeader(path, header, { namesFile: opts.namesFile, imgsz: opts.imgsz });
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    report.error = err.message;
    return report;
  }
  report.usable = true;
  report.layout = { name: model.layout, description: LAYOUT_DESCRIPTIONS[model.layout], source: model.layoutPending ? 'guess' : layoutSource(model) };
  report.classes = { count: model.names.length, source: model.namesSource, names: model.names };
  report.imgsz = model.imgsz;
  report.imgsz_source = imgszSource(model, opts.imgsz);
  report.stride = model.stride;
  report.task = model.task;
  report.end2end = model.end2end;
  report.batch = { dynamic: model.dynamicBatch, dim: model.inputShape[0] ?? null };
  report.spatial = { dynamic: model.dynamicSpatial, dims: [model.inputShape[2] ?? null, model.inputShape[3] ?? null] };
  setTaskFields(report, model.taskLayout);

  if (opts.probe ?? true) {
    report.probe = await probe(model);
    if (report.probe.ok) {
      const spec = settleTask(model, report.probe.outputs_dims!);
      setTaskFields(report, spec);
      if (model.layoutPending) report.layout = { name: spec.layout, description: LAYOUT_DESCRIPTIONS[spec.layout], source: 'probe' };
    }
  }
  return report;
}

function setTaskFields(report: InspectReport, spec: TaskLayout): void {
  const roles = new Map(spec.outputs.map((o) => [o.name, o.role]));
  for (const o of report.outputs) o.role = roles.get(o.name) ?? 'ignored';
  report.kpt_shape = spec.kptShape;
  report.mask_size = spec.maskSize;
  if (report.layout && spec.extra > 0) {
    const what = spec.task === 'segment' ? 'mask coefficients' : spec.task === 'pose' ? 'keypoint values' : 'extra values';
    report.layout.description = `${LAYOUT_DESCRIPTIONS[report.layout.name]}; + ${spec.extra} ${what} per detection`;
  }
}

function layoutSource(m: ResolvedModel): 'metadata' | 'output shape' {
  if (isEnd2end(m.metadata)) return 'metadata';
  // With no fixed dim in the declared output, only the metadata can have decided it.
  const [, a, c] = m.outputShape;
  return typeof a !== 'number' && typeof c !== 'number' ? 'metadata' : 'output shape';
}

function imgszSource(m: ResolvedModel, requested: [number, number] | undefined): InspectReport['imgsz_source'] {
  if (typeof m.inputShape[2] === 'number' && typeof m.inputShape[3] === 'number' && m.inputShape[2] > 0 && m.inputShape[3] > 0) return 'input shape';
  if (requested) return '--imgsz';
  if (m.metadata.imgsz !== undefined) {
    try {
      parsePyLiteral(m.metadata.imgsz);
      return 'metadata';
    } catch {
      // unreadable metadata is ignored by resolveModel too
    }
  }
  return 'default';
}

/** One inference on a blank image, the same warm-up `batch` runs before its first image. */
async function probe(m: ResolvedModel): Promise<InspectReport['probe']> {
  const [h, w] = m.imgsz;
  const inputDims = [1, 3, h, w];
  const t0 = performance.now();
  let pool: InferencePool;
  try {
    pool = await InferencePool.start(
      { modelPath: m.path, intraOpThreads: 1, inputName: m.inputName, inputType: m.inputType, outputNames: m.taskLayout.outputs.map((o) => o.name), outputType: m.outputType, imgsz: m.imgsz },
      ['cpu'],
      1,
    );
  } catch (err) {
    if (!(err instanceof InferenceError)) throw err;
    return { ran: true, ok: false, device: 'cpu', input_dims: inputDims, output_dims: null, outputs_dims: null, ms: null, error: err.message };
  }
  const ms = Math.round(performance.now() - t0);
  const dims = pool.probeDims.map((d) => [...d]);
  await pool.close();
  try {
    settleTask(m, dims);
  } catch (err) {
    return { ran: true, ok: false, device: pool.device, input_dims: inputDims, output_dims: dims[0]!, outputs_dims: dims, ms, error: (err as Error).message };
  }
  return { ran: true, ok: true, device: pool.device, input_dims: inputDims, output_dims: dims[0]!, outputs_dims: dims, ms, error: null };
}

async function providerReport(): Promise<InspectReport['providers']> {
  let bundled = new Map<string, boolean>();
  try {
    // Loaded here, not at the top: every other command would pay for the native binding.
    const ort = await import('onnxruntime-node');
    bundled = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  } catch {
    // without the list, the file checks alone still say what can work
  }
  const probe = defaultProbe();
  return DEVICE_KINDS.map((device) => {
    const reason = unavailableReason(device, probe);
    return { device, bundled: bundled.get(device) ?? null, usable: reason === null, reason };
  });
}

// ---------------------------------------------------------------------------------------------
// Text

const shapeText = (s: Dim[] | null): string => (s === null ? '(no shape declared)' : formatShape(s));

function tensorRows(list: (InspectTensor & { role?: string })[], nameW: number): string[] {
  return list.map((t) => `${t.name.padEnd(nameW)}  ${t.dtype.padEnd(7)}  ${shapeText(t.shape)}${t.role ? (t.role === 'ignored' ? '  (ignored)' : `  ← ${t.role === 'protos' ? 'mask prototypes' : t.role === 'scores' ? 'class scores' : t.role}`) : ''}`);
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

/** The human report (no trailing newline). */
export function formatInspectText(r: InspectReport): string {
  const rows: [string, string | string[]][] = [];
  rows.push(['model', `${r.model.path} (${mb(r.model.size_bytes)}, sha256 ${r.model.sha256.slice(0, 16)}…)`]);
  const producer = r.onnx.producer ? `, producer ${r.onnx.producer}${r.onnx.producer_version ? ` ${r.onnx.producer_version}` : ''}` : '';
  rows.push(['onnx', `ir ${r.onnx.ir_version}, opset ${r.onnx.opset ?? '?'}${producer}`]);
  // One name column for inputs and outputs, so dtypes and shapes line up across both.
  const nameW = Math.max(...[...r.inputs, ...r.outputs].map((t) => t.name.length), 4);
  rows.push(['inputs', tensorRows(r.inputs, nameW)]);
  rows.push(['outputs', tensorRows(r.outputs, nameW)]);
  if (!r.usable) {
    rows.push(['usable', `no: ${r.error}`]);
  } else {
    const l = r.layout!;
    rows.push(['layout', `${l.name} — ${l.description} (${l.source === 'guess' ? 'a guess: no probe inference settled it' : `from ${l.source}`})`]);
    const c = r.classes!;
    const first = c.names.slice(0, 5).join(', ');
    rows.push(['classes', `${c.count} from ${c.source === 'coco80' ? 'the built-in COCO-80 list (no names metadata)' : c.source}: ${first}${c.count > 5 ? ', …' : ''}`]);
    rows.push(['imgsz', `${r.imgsz![0]}x${r.imgsz![1]} (h x w, from ${r.imgsz_source})`]);
    rows.push(['stride', String(r.stride)]);
    rows.push(['task', `${r.task}${r.metadata_keys.includes('task') ? '' : ' (no task in metadata; recognised from the outputs)'}`]);
    if (r.kpt_shape) rows.push(['kpt_shape', `${r.kpt_shape[0]} keypoints × ${r.kpt_shape[1]} values (${r.kpt_shape[1] === 3 ? 'x, y, visibility' : 'x, y'})`]);
    if (r.mask_size) rows.push(['mask size', `${r.mask_size[0]}x${r.mask_size[1]} prototypes, upsampled to ${r.imgsz![0]}x${r.imgsz![1]} (or the image size with --retina-masks)`]);
    rows.push(['end2end', r.end2end ? 'yes (boxes already de-duplicated; no NMS)' : 'no (NMS in yolo-serve)']);
    rows.push(['batch', r.batch!.dynamic ? `dynamic (${String(r.batch!.dim ?? '?')}): --batch N groups images per inference call` : `fixed ${String(r.batch!.dim)}: one image per inference call`]);
    const [sh, sw] = r.spatial!.dims;
    rows.push(['spatial', r.spatial!.dynamic ? `dynamic (${String(sh ?? '?')} x ${String(sw ?? '?')}): --imgsz chooses the size` : `fixed ${String(sh)}x${String(sw)}`]);
  }
  rows.push(['metadata', r.metadata_keys.length > 0 ? r.metadata_keys.join(', ') : '(none)']);
  const p = r.probe;
  if (p.ran) {
    rows.push(['probe', p.ok ? `ok on ${p.device}: ${formatShape(p.input_dims!)} → ${formatShape(p.output_dims!)} (${p.ms} ms incl. session start)` : `FAILED on ${p.device} with ${formatShape(p.input_dims!)}: ${p.error}`]);
  } else if (r.usable) {
    rows.push(['probe', 'skipped (--no-probe)']);
  }
  rows.push([
    'providers',
    r.providers.map((d) => `${d.device.padEnd(8)} ${d.usable ? 'available' : `unavailable: ${d.reason}`}${d.bundled === false && d.usable ? ' (not bundled)' : ''}`),
  ]);
  rows.push(['auto order', r.auto_order.join(' → ')]);
  rows.push(['versions', `yolo-serve ${r.versions.yolo_serve}, onnxruntime ${r.versions.onnxruntime}, node ${r.versions.node}`]);

  const keyW = Math.max(...rows.map(([k]) => k.length)) + 2;
  const out: string[] = [];
  for (const [k, v] of rows) {
    const lines = Array.isArray(v) ? v : [v];
    lines.forEach((line, i) => out.push(`${(i === 0 ? k : '').padEnd(keyW)}${line}`));
  }
  return out.join('\n');
}

/** Exit code: 0 usable (and the probe passed), 1 the probe failed, 2 the model cannot be used. */
export function inspectExitCode(r: InspectReport): ExitCode {
  if (!r.usable) return EXIT_USAGE;
  return r.probe.ran && !r.probe.ok ? EXIT_SOME_FAILED : EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// Command

interface InspectFlags {
  json?: boolean;
  names?: string;
  imgsz?: string;
  probe: boolean;
}

export function inspectCommand(onExit: (code: ExitCode) => void): Command {
  return new Command('inspect')
    .description('show what yolo-serve will do with a model: tensors, layout, classes, input size, providers')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print a JSON report (stable schema) instead of text')
    .option('--names <file>', 'class names file, as for batch')
    .option('--imgsz <n|h,w>', 'input size for dynamic-shape models, as for batch')
    .option('--no-probe', 'skip the probe inference (faster; a pending layout stays a guess)')
    .addHelpText(
      'after',
      `
Examples:
  $ yolo-serve inspect yolo11n.onnx
  $ yolo-serve inspect yolov8n-dynamic.onnx --imgsz 480,640
  $ yolo-serve inspect custom.onnx --names classes.txt --json | jq .layout

${exitCodesHelp('inspect')}`,
    )
    .action(async (modelPath: string, flags: InspectFlags) => {
      const report = await inspectModel(modelPath, { namesFile: flags.names, imgsz: flags.imgsz ? parseImgsz(flags.imgsz) : undefined, probe: flags.probe });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspectText(report)}\n`);
      onExit(inspectExitCode(report));
    });
}
