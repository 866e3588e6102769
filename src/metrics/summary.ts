// The run summary: one versioned JSON document saying how a run went (counts, throughput,
// per-stage latency percentiles, model, device, versions), its compact text form for stderr, and
// the merge of several summaries (shards of one job) into one.
//
// Schema rules: `schema` is bumped only for incompatible changes; fields are only ever added.
// Latencies are in milliseconds. Each stage carries its HdrHistogram (V2 compressed, base64,
// integer microseconds) plus the exact sum and max, which is everything a merge needs.
import { basename } from 'node:path';
import type { Dim, OutputLayout } from '../types.js';
import { HISTOGRAM_SIGNIFICANT_DIGITS, HISTOGRAM_UNIT, LatencyHistogram, type LatencyStats } from './histogram.js';
import type { StageHistograms } from './recorder.js';
import { STAGES, type Stage } from './stages.js';
import { sortClassCounts, sortedRecord, type ClassCount, type ResultTally } from './tally.js';
import { toolVersions, type Versions } from './versions.js';

export const SUMMARY_SCHEMA = 1;

export interface StageLatency extends LatencyStats {
  /** HdrHistogram V2 compressed encoding (base64) of the values in integer microseconds. */
  hdr: string;
}

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: Dim[];
}

export interface ModelSummary {
  path: string;
  /** Hex SHA-256 of the model file; null if it could not be read at the end of the run. */
  sha256: string | null;
  size_bytes: number | null;
  layout: OutputLayout;
  input: TensorSummary;
  output: TensorSummary;
  /** Network input [h, w] images were letterboxed to. */
  imgsz: [number, number];
  classes: number;
  names_source: 'metadata' | 'file' | 'coco80';
  /** Input element type (float16 models get their inputs converted). */
  dtype: string;
  dynamic_batch: boolean;
  dynamic_spatial: boolean;
  end2end: boolean;
  task: string | null;
  stride: number;
}

export interface DeviceSummary {
  /** What --device asked for. */
  requested: string;
  /** The device that actually ran inference. */
  used: string;
  /** onnxruntime's name for it, e.g. CPUExecutionProvider. */
  provider: string;
  /** Devices not used, in the order considered: `tried` false when skipped without trying. */
  fallbacks: { device: string; reason: string; tried: boolean }[];
}

export interface RunSummary {
  schema: typeof SUMMARY_SCHEMA;
  tool: 'yolo-serve';
  versions: Versions;
  started_at: string;
  ended_at: string;
  wall_s: number;
  /** Seconds before the first image started (reading inputs and model, starting sessions). */
  startup_s: number;
  /** Images written (ok + failed) per second of wall time. */
  throughput_ips: number;
  exit_code: number;
  /** True when the run was stopped by a signal (SIGINT/SIGTERM) before finishing its inputs. */
  interrupted: boolean;
  /** Why the run ended early (a fatal inference error, an error budget, a signal); null when it did not. */
  stop_reason: string | null;
  images: {
    /** Images the run was given (after input expansion): ok + failed + not_started. */
    total: number;
    ok: number;
    failed: number;
    /** Non-image files met in directories and globs, never turned into jobs. */
    skipped: number;
    /** Images never started because the run stopped early. */
    not_started: number;
  };
  /** Failed images by error code. */
  failures: Record<string, number>;
  detections: { total: number; per_class: ClassCount[] };
  latency_ms: Record<Stage, StageLatency>;
  histograms: { format: string; unit: string; significant_digits: number };
  model: ModelSummary;
  device: DeviceSummary;
  parallelism: { batch: number; workers: number; threads: number; decode_concurrency: number };
  settings: { conf: number; iou: number; max_det: number; classes: number[] | null; agnostic_nms: boolean; max_pixels: number };
  output: { path: string; format: string };
  /** The inputs as given on the command line (absent in summaries written before it was added). */
  inputs?: string[];
  /** How many run summaries this one stands for (1 for a run, N for a merge of N shards). */
  parts: number;
  warnings: string[];
}

export interface SummaryInput {
  startedAt: Date;
  /** Wall time of the whole run; ended_at is started_at plus this. */
  wallMs: number;
  startupMs: number;
  exitCode: number;
  interrupted?: boolean;
  stopReason?: string | null;
  images: { total: number; ok: number; failed: number; skipped: number; notStarted: number };
  detections: number;
  tally: ResultTally;
  stages: StageHistograms;
  model: ModelSummary;
  device: DeviceSummary;
  parallelism: RunSummary['parallelism'];
  settings: RunSummary['settings'];
  output: RunSummary['output'];
  inputs?: string[];
  versions?: Versions;
  warnings?: string[];
}

const HDR_FORMAT = 'HdrHistogram V2 compressed, base64';
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export function buildSummary(input: SummaryInput): RunSummary {
  const wallS = input.wallMs / 1000;
  const processed = input.images.ok + input.images.failed;
  const latency = Object.fromEntries(
    STAGES.map((s) => {
      const h = input.stages.stages[s];
      return [s, { ...h.stats(), hdr: h.encode() }];
    }),
  ) as Record<Stage, StageLatency>;
  return {
    schema: SUMMARY_SCHEMA,
    tool: 'yolo-serve',
    versions: input.versions ?? toolVersions(),
    started_at: input.startedAt.toISOString(),
    ended_at: new Date(input.startedAt.getTime() + Math.round(input.wallMs)).toISOString(),
    wall_s: round(wallS, 3),
    startup_s: round(input.startupMs / 1000, 3),
    throughput_ips: wallS > 0 ? round(processed / wallS, 3) : 0,
    exit_code: input.exitCode,
    interrupted: input.interrupted ?? false,
    stop_reason: input.stopReason ?? null,
    images: {
      total: input.images.total,
      ok: input.images.ok,
      failed: input.images.failed,
      skipped: input.images.skipped,
      not_started: input.images.notStarted,
    },
    failures: input.tally.failuresByCode(),
    detections: { total: input.detections, per_class: input.tally.perClass() },
    latency_ms: latency,
    histograms: { format: HDR_FORMAT, unit: HISTOGRAM_UNIT, significant_digits: HISTOGRAM_SIGNIFICANT_DIGITS },
    model: input.model,
    device: input.device,
    parallelism: input.parallelism,
    settings: input.settings,
    output: input.output,
    ...(input.inputs ? { inputs: input.inputs } : {}),
    parts: 1,
    warnings: input.warnings ?? [],
  };
}

// ---------------------------------------------------------------------------------------------
// Merge

/**
 * Combines the summaries of runs over disjoint parts of one job (shards) into one: counts summed,
 * histograms merged (so percentiles are those of all values together), wall time the span from
 * the earliest start to the latest end, throughput = images / that span. Descriptive fields
 * (model, device, settings, versions) come from the first summary; a difference between parts
 * that matters (another model file, settings or versions) is listed in `warnings`.
 */
export function mergeSummaries(summaries: RunSummary[]): RunSummary {
  if (summaries.length === 0) throw new Error('mergeSummaries: no summaries to merge');
  for (const s of summaries) {
    if (s.schema !== SUMMARY_SCHEMA) throw new Error(`cannot merge a summary with schema ${String(s.schema)} (this yolo-serve reads schema ${SUMMARY_SCHEMA})`);
  }
  const first = summaries[0]!;
  const start = Math.min(...summaries.map((s) => Date.parse(s.started_at)));
  const end = Math.max(...summaries.map((s) => Date.parse(s.ended_at)));
  const wallS = (end - start) / 1000;

  const sum = (f: (s: RunSummary) => number): number => summaries.reduce((acc, s) => acc + f(s), 0);
  const images = {
    total: sum((s) => s.images.total),
    ok: sum((s) => s.images.ok),
    failed: sum((s) => s.images.failed),
    skipped: sum((s) => s.images.skipped),
    not_started: sum((s) => s.images.not_started),
  };

  const failures = new Map<string, number>();
  const classes = new Map<string, ClassCount>();
  for (const s of summaries) {
    for (const [code, n] of Object.entries(s.failures)) failures.set(code, (failures.get(code) ?? 0) + n);
    for (const c of s.detections.per_class) {
      const key = `${c.class}\u0000${c.name}`;
      const have = classes.get(key);
      if (have) have.count += c.count;
      else classes.set(key, { ...c });
    }
  }

  const latency = Object.fromEntries(
    STAGES.map((stage) => {
      const merged = new LatencyHistogram();
      for (const s of summaries) {
        const l = s.latency_ms[stage];
        if (l) merged.add(LatencyHistogram.decode(l.hdr, l.sum, l.max ?? 0));
      }
      return [stage, { ...merged.stats(), hdr: merged.encode() }];
    }),
  ) as Record<Stage, StageLatency>;

  const warnings = summaries.flatMap((s) => s.warnings);
  const differs = (what: string, f: (s: RunSummary) => unknown): void => {
    const values = [...new Set(summaries.map((s) => JSON.stringify(f(s))))];
    if (values.length > 1) warnings.push(`parts differ in ${what}: ${values.join(' vs ')}`);
  };
  differs('model sha256', (s) => s.model.sha256);
  differs('device', (s) => s.device.used);
  differs('settings', (s) => s.settings);
  differs('yolo-serve version', (s) => s.versions.yolo_serve);
  differs('onnxruntime version', (s) => s.versions.onnxruntime);

  const interrupted = summaries.some((s) => s.interrupted);
  const processed = images.ok + images.failed;
  return {
    ...first,
    versions: { ...first.versions },
    started_at: new Date(start).toISOString(),
    ended_at: new Date(end).toISOString(),
    wall_s: round(wallS, 3),
    startup_s: Math.max(...summaries.map((s) => s.startup_s)),
    throughput_ips: wallS > 0 ? round(processed / wallS, 3) : 0,
    exit_code: Math.max(...summaries.map((s) => s.exit_code)),
    interrupted,
    stop_reason: summaries.find((s) => s.stop_reason !== null)?.stop_reason ?? null,
    images,
    failures: sortedRecord(failures),
    detections: { total: sum((s) => s.detections.total), per_class: sortClassCounts([...classes.values()]) },
    latency_ms: latency,
    parts: sum((s) => s.parts),
    warnings,
  };
}

/**
 * Parses a summary file's text, checking that it is a yolo-serve summary this version can read.
 * `source` names the file in error messages.
 */
export function parseSummary(text: string, source: string): RunSummary {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not a JSON summary (${(err as Error).message})`);
  }
  const o = v as Partial<RunSummary> | null;
  if (o === null || typeof o !== 'object' || o.tool !== 'yolo-serve') throw new Error(`${source}: not a yolo-serve run summary`);
  if (o.schema !== SUMMARY_SCHEMA) throw new Error(`${source}: summary schema ${String(o.schema)} is not supported (expected ${SUMMARY_SCHEMA})`);
  for (const key of ['images', 'failures', 'detections', 'latency_ms', 'started_at', 'ended_at'] as const) {
    if (o[key] === undefined || o[key] === null) throw new Error(`${source}: summary lacks '${key}'`);
  }
  for (const stage of STAGES) {
    const l = o.latency_ms![stage];
    if (!l || typeof l.hdr !== 'string' || typeof l.sum !== 'number') throw new Error(`${source}: summary lacks the '${stage}' histogram`);
  }
  return o as RunSummary;
}

// ---------------------------------------------------------------------------------------------
// Text

export const STAGE_LABELS: Record<Stage, string> = {
  read_decode: 'read+decode',
  preprocess: 'preprocess',
  queue_wait: 'queue wait',
  inference_batch: 'inference/batch',
  inference_image: 'inference/image',
  postprocess: 'postprocess',
  end_to_end: 'end to end',
};

/** Classes named in the text report; the JSON lists all. */
const TOP_CLASSES = 8;

function fmtMs(v: number | null): string {
  if (v === null) return '-';
  if (v < 100) return v.toFixed(2);
  if (v < 10000) return v.toFixed(1);
  return v.toFixed(0);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The compact human report printed on stderr at the end of a run (no trailing newline). */
export function formatSummaryText(s: RunSummary): string {
  const processed = s.images.ok + s.images.failed;
  const extra = [
    s.images.skipped > 0 ? `${plural(s.images.skipped, 'non-image file')} skipped` : null,
    s.images.not_started > 0 ? `${s.images.not_started} not started` : null,
  ].filter((x) => x !== null);
  const p = s.parallelism;
  const lines = [
    `yolo-serve: ${processed} images (${s.images.ok} ok, ${s.images.failed} failed${extra.map((e) => `, ${e}`).join('')}), ` +
      `${s.detections.total} detections in ${s.wall_s.toFixed(1)}s (${s.throughput_ips.toFixed(1)} images/s, ${s.device.used}, ` +
      `${p.workers}×${p.threads} threads, batch ${p.batch})` +
      (s.parts > 1 ? ` — merged from ${s.parts} parts` : ''),
  ];
  if (s.interrupted) lines.push(`  interrupted${s.stop_reason ? `: ${s.stop_reason}` : ''}`);
  else if (s.stop_reason) lines.push(`  stopped early: ${s.stop_reason}`);
  const failures = Object.entries(s.failures).sort(([, a], [, b]) => b - a);
  if (failures.length > 0) lines.push(`  failures: ${failures.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  const classes = s.detections.per_class;
  if (classes.length > 0) {
    const shown = classes.slice(0, TOP_CLASSES).map((c) => `${c.name} ${c.count}`);
    const more = classes.length - TOP_CLASSES;
    lines.push(`  classes: ${shown.join(', ')}${more > 0 ? `, … ${plural(more, 'more class', 'more classes')}` : ''}`);
  }
  const m = s.model;
  lines.push(
    `  model: ${basename(m.path)} (${m.layout}, ${m.imgsz[0]}x${m.imgsz[1]}, ${m.classes} classes, ${m.dtype}` +
      `${m.sha256 ? `, sha256 ${m.sha256.slice(0, 12)}` : ''}) · start-up ${s.startup_s.toFixed(1)}s`,
  );
  if (s.device.fallbacks.length > 0) {
    // Reasons are in the JSON and were printed at start-up; here only which devices were passed over.
    const skipped = s.device.fallbacks.filter((f) => !f.tried).map((f) => f.device);
    const failed = s.device.fallbacks.filter((f) => f.tried).map((f) => f.device);
    const why = [skipped.length > 0 ? `not available: ${skipped.join(', ')}` : null, failed.length > 0 ? `failed to start: ${failed.join(', ')}` : null];
    lines.push(`  device: ${s.device.used} (${why.filter((w) => w !== null).join('; ')})`);
  }
  const cols = ['count', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'];
  lines.push(`  ${'latency (ms)'.padEnd(16)}${cols.map((c) => c.padStart(9)).join('')}`);
  for (const stage of STAGES) {
    const l = s.latency_ms[stage];
    const cells = [String(l.count), fmtMs(l.mean), fmtMs(l.p50), fmtMs(l.p90), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.max)];
    lines.push(`  ${STAGE_LABELS[stage].padEnd(16)}${cells.map((c) => c.padStart(9)).join('')}`);
  }
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
