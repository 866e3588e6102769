// open: everything a run holds while it works — the output lock, the model (resolved, its file
// hashed once), the side outputs (--save-annotated/--save-crops, --save-txt), the inference pool,
// the run guard and the results sink. Each opener registers its undo with the run's one Disposer.
// What the model settles (class ids kept, layout, input size, task, device, parallelism) is
// gathered in a ResolvedRun; the RunConfig itself is never changed after it is resolved.
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { ImageSaver } from '../annotate/saver.js';
import { prepareVisualOutputs } from '../annotate/index.js';
import type { RunConfig } from '../config.js';
import { UsageError, resolveClasses } from '../config.js';
import type { LabelWriter } from '../exports/yolo-txt.js';
import { calibrateBatch, candidatesFor, describeCalibration } from '../inference/batch-calibration.js';
import { planParallelism, type Parallelism } from '../inference/plan.js';
import { InferencePool } from '../inference/pool.js';
import type { DeviceKind } from '../inference/protocol.js';
import { planDevices } from '../inference/providers.js';
import type { RunCounter } from '../metrics/counts.js';
import { checkSummaryTarget } from '../metrics/summary-file.js';
import { sha256File } from '../model/digest.js';
import { resolveModel, type ResolvedModel } from '../model/resolve.js';
import { settleTask } from '../model/settle-layout.js';
import type { Provenance } from '../outputs/provenance.js';
import { openSink } from '../outputs/sink.js';
import { OutputLock } from '../reliability/output-lock.js';
import { checkOutputNotInput, checkOutputTarget, type OutputTarget } from '../reliability/output-target.js';
import { RunGuard } from '../reliability/run-guard.js';
import type { GuardedSink } from '../reliability/guarded-sink.js';
import { runProvenance } from '../reliability/run-identity.js';
import type { SignalProcess } from '../reliability/signals.js';
import { taskNamed } from '../tasks/registry.js';
import type { TaskLayout } from '../tasks/types.js';
import type { OutputLayout, PostprocessOptions, TaskName } from '../types.js';
import type { Disposer } from './dispose.js';
import type { InputPlan } from './plan.js';
import type { Observers } from './observers.js';

export interface RunIo {
  stdin: NodeJS.ReadableStream;
  stderr: NodeJS.WritableStream;
  /** SIGINT/SIGTERM source (the CLI passes `process`); absent: no signal handling. */
  signals?: SignalProcess;
}

/** A line on stderr unless --quiet. */
export function sayer(cfg: Pick<RunConfig, 'quiet'>, io: Pick<RunIo, 'stderr'>): (line: string) => void {
  return (line) => {
    if (!cfg.quiet) io.stderr.write(`${line}\n`);
  };
}

export interface LockedOutput {
  target: OutputTarget;
  lock: OutputLock | null;
}

/**
 * The output is checked and locked first: a second run on the same --out fails fast, and nothing
 * after (resume's repair, the sink) touches the file without holding the lock.
 */
export async function lockOutput(cfg: RunConfig, io: RunIo, disposer: Disposer): Promise<LockedOutput> {
  const target = await checkOutputTarget(cfg);
  const lock = target.regular && target.real ? await OutputLock.acquire(target.real, { notice: (line) => io.stderr.write(`${line}\n`) }) : null;
  if (lock) {
    disposer.add('output lock', () => lock.releaseSync());
    if (io.signals) lock.installSignalRelease(io.signals);
  }
  return { target, lock };
}

/** What the model settles before any inference session exists. */
export interface ResolvedModelRun {
  model: ResolvedModel;
  /** cfg.post with --classes resolved against the model's classes: the ids actually kept. */
  post: PostprocessOptions;
  /** The model file, read once: its digest goes into the output's header and the summary. */
  modelFile: { sha256: string; size: number };
  /** What produced the results: the output's header, and what --resume checks the file against. */
  provenance: Provenance;
}

/** The run as resolved once the inference pool runs: what the later parts receive. */
export interface ResolvedRun extends ResolvedModelRun {
  task: TaskName;
  /** Input size [h, w]. */
  imgsz: [number, number];
  /** The task layout settled by the probe run (the model's, when it was not pending). */
  spec: TaskLayout;
  layout: OutputLayout;
  device: { used: DeviceKind; skipped: { device: DeviceKind; reason: string }[]; failed: { device: DeviceKind; reason: string }[] };
  parallelism: Parallelism;
}

/**
 * Resolves the model, turns --classes names into ids, checks the output against the inputs and
 * the summary target, and hashes the model file — all before any work, so a bad flag, model or
 * input never costs a half-written output.
 */
export async function resolveRun(cfg: RunConfig, inputs: InputPlan, out: LockedOutput): Promise<ResolvedModelRun> {
  const model = await resolveModel(cfg.modelPath, { namesFile: cfg.namesFile ?? undefined, imgsz: cfg.imgsz ?? undefined });
  const post = { ...cfg.post, classes: resolveClasses(cfg.post.classes, cfg.classNames, model.names, cfg.modelPath) };
  await checkOutputNotInput(out.target, cfg.inputs, [...inputs.all]);
  await checkSummaryTarget(cfg.summaryPath, cfg.out);
  const [sha256, size] = await Promise.all([sha256File(model.path), stat(model.path).then((s) => s.size)]);
  const provenance = await runProvenance({ ...cfg, post }, model, sha256);
  return { model, post, modelFile: { sha256, size }, provenance };
}

export interface SideOutputs {
  saver: ImageSaver | null;
  labels: LabelWriter | null;
}

/** --save-annotated, --save-crops, --report's target and --save-txt: checked (and created) before any work. */
export async function openSideOutputs(cfg: RunConfig): Promise<SideOutputs> {
  const saver = await prepareVisualOutputs(cfg, process.cwd());
  const labels = cfg.saveTxt ? await openLabelWriter(cfg.saveTxt, cfg.saveConf) : null;
  return { saver, labels };
}

/** `--save-txt DIR`: created before any work starts, so a bad folder costs nothing. */
async function openLabelWriter(dir: string, withConf: boolean): Promise<LabelWriter> {
  const { LabelWriter } = await import('../exports/yolo-txt.js');
  return LabelWriter.open(dir, withConf).catch((err: Error) => {
    throw new UsageError(`--save-txt ${dir}: ${err.message}`);
  });
}

export interface Engine {
  run: ResolvedRun;
  pool: InferencePool;
  /** Stops the run gracefully on SIGINT/SIGTERM and the error budget (from here until the outputs are closed). */
  guard: RunGuard;
}

/**
 * Starts the inference pool on the best device available, sizes it, settles the model's layout
 * with the probe run and configures the workers; starts the run guard.
 */
export async function openEngine(cfg: RunConfig, resolved: ResolvedModelRun, io: RunIo, out: LockedOutput, disposer: Disposer): Promise<Engine> {
  const say = sayer(cfg, io);
  const { model } = resolved;
  const plan = planDevices(cfg.device);
  if (plan.candidates.length === 0) {
    throw new UsageError(`--device ${cfg.device} is not available here: ${plan.skipped.map((s) => s.reason).join('; ')}`);
  }
  for (const s of plan.skipped) if (cfg.verbose) say(`device ${s.device} skipped: ${s.reason}`);
  if (cfg.batch !== 'auto' && cfg.batch > 1 && !model.dynamicBatch) {
    say(`note: ${cfg.modelPath} has a fixed batch of 1; --batch ${cfg.batch} ignored`);
  }

  // libvips' own cache only helps when the same file is read twice; in a batch run it is memory
  // that grows with the dataset's variety.
  sharp.cache(false);
  // Parallelism comes from decoding several images at once on libuv's pool; libvips' extra
  // threads inside one small decode only add switching next to busy inference threads.
  sharp.concurrency(1);

  // The provider decides the plan, but is only known once a session exists: start one worker
  // with the plan for the first candidate, then size the pool.
  warnOversubscribed(cfg, say);
  const firstDevice = plan.candidates[0] ?? 'cpu';
  const planFor = (device: DeviceKind) =>
    planParallelism({ device, cores: availableParallelism(), dynamicBatch: model.dynamicBatch, workers: cfg.workers, threads: cfg.threads, batch: cfg.batch, modelBytes: resolved.modelFile.size });
  const init = (threads: number) => ({ modelPath: model.path, intraOpThreads: threads, inputName: model.inputName, inputType: model.inputType, outputNames: model.taskLayout.outputs.map((o) => o.name), outputType: model.outputType, imgsz: model.imgsz });
  let par = planFor(firstDevice);
  let pool = await InferencePool.start(init(par.threads), plan.candidates, par.workers);
  // A GPU plan (one session, one thread) is a poor CPU plan: when auto fell back to another
  // provider, start again with that provider's plan (sessions are cheap next to a batch run).
  const actual = planFor(pool.device);
  if (actual.workers !== par.workers || actual.threads !== par.threads) {
    const first = pool;
    await first.close();
    pool = await InferencePool.start(init(actual.threads), [first.device], actual.workers);
    pool.fallbacks.unshift(...first.fallbacks);
  }
  const started = pool;
  disposer.add('inference pool', () => started.close());
  par = actual;
  // --batch auto on a GPU: measure which batch size keeps it busiest (batch-calibration.ts).
  if (pool.device !== 'cpu' && cfg.batch === 'auto' && model.dynamicBatch) {
    const calibration = await calibrateBatch((b, runs) => started.timeBatch(b, runs), { candidates: candidatesFor(model.imgsz[0], model.imgsz[1]) });
    par = { ...par, batch: calibration.batch };
    if (cfg.verbose) say(describeCalibration(calibration));
  }
  const guard = new RunGuard({ maxFailures: cfg.maxFailures, maxFailureRate: cfg.maxFailureRate, signals: io.signals, stderr: io.stderr, beforeDie: () => out.lock?.releaseSync() });
  disposer.add('run guard', () => guard.dispose());
  if (cfg.device === 'auto' && pool.device === 'cpu' && (plan.skipped.length > 0 || pool.fallbacks.length > 0)) {
    // One short line: the reasons without their fix-it hints (`yolo-serve inspect` shows those).
    const why = [...plan.skipped, ...pool.fallbacks].map((f) => `${f.device}: ${f.reason.replace(/ \(.*\)$/, '')}`).join('; ');
    say(`device: cpu (${why})`);
  }
  const spec = settleTask(model, pool.probeDims);
  pool.configure({ type: 'configure', spec, names: model.names, post: resolved.post });
  const run: ResolvedRun = {
    ...resolved,
    task: model.task,
    imgsz: model.imgsz,
    spec,
    layout: spec.layout,
    device: { used: pool.device, skipped: plan.skipped, failed: pool.fallbacks },
    parallelism: par,
  };
  return { run, pool, guard };
}

/** The results file (appended to under --resume), wrapped by the guard; observers see each committed record. */
export async function openResults(cfg: RunConfig, engine: Engine, observers: Observers, counter: RunCounter): Promise<GuardedSink> {
  const opened = await openSink(cfg.out, cfg.format, { append: cfg.resume, header: { provenance: engine.run.provenance, mixed: [] }, taskColumns: taskNamed(engine.run.task)!.csvColumns }).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  // The report counts a record once it has reached the output, not when it is handed over.
  return engine.guard.guardSink(opened, (r) => observers.committed(r), counter);
}

/**
 * --workers far above the cores: every worker is a whole ONNX Runtime session with its own copy of
 * the model, and the sessions only take turns on the cores, so this costs memory and gains nothing.
 */
function warnOversubscribed(cfg: RunConfig, say: (line: string) => void): void {
  const cores = availableParallelism();
  if (cfg.workers === 'auto' || cfg.workers <= 2 * cores) return;
  say(`warning: --workers ${cfg.workers} is far above the ${cores} CPU cores here: each worker is a separate inference session with its own copy of the model, and they only compete for the cores; --workers auto (at most one per core) is usually fastest`);
}
