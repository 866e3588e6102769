// `yolo-serve batch`: wires the stages together for one run and turns the outcome into an exit
// code. Everything that can be checked before work starts is checked here, so a bad flag, model
// or input never costs a half-written output.
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { RunConfig } from '../config.js';
import { UsageError, resolveClasses } from '../config.js';
import { InferencePool } from '../inference/pool.js';
import { calibrateBatch, candidatesFor, describeCalibration } from '../inference/batch-calibration.js';
import { planParallelism } from '../inference/plan.js';
import { planDevices } from '../inference/providers.js';
import type { DeviceKind } from '../inference/protocol.js';
import { expandInputs } from '../inputs/expand.js';
import { describeShard, selectShard } from '../inputs/shard.js';
import { shardRoot } from '../inputs/shard-root.js';
import { resolveModel } from '../model/resolve.js';
import { settleTask } from '../model/settle-layout.js';
import { taskNamed } from '../tasks/registry.js';
import { RunReport } from '../metrics/report.js';
import { checkSummaryTarget } from '../metrics/summary-file.js';
import { openSink } from '../outputs/sink.js';
import type { LabelWriter } from '../exports/yolo-txt.js';
import { runPipeline } from '../pipeline.js';
import { DecodeBudget, type DecodeOptions } from '../preprocess/decode.js';
import { prepareVisualOutputs } from '../annotate/index.js';
import { writeReport } from '../report/index.js';
import { describeReport } from './report.js';
import { OutputLock } from '../reliability/output-lock.js';
import { checkOutputNotInput, checkOutputTarget, type OutputTarget } from '../reliability/output-target.js';
import { describeResume, planResume } from '../reliability/resume.js';
import { runProvenance } from '../reliability/run-identity.js';
import type { RunResult, StopReason } from '../reliability/run-guard.js';
import { EXIT_RUN_FAILED } from '../exit-codes.js';
import { RunGuard } from '../reliability/run-guard.js';
import type { SignalProcess } from '../reliability/signals.js';

export { EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE } from '../exit-codes.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stderr: NodeJS.WritableStream;
  /** SIGINT/SIGTERM source (the CLI passes `process`); absent: no signal handling. */
  signals?: SignalProcess;
}

/** exitCode, `interrupted` (SIGINT/SIGTERM) and `stop` (why the run ended early, or null). */
export type RunOutcome = RunResult;

export async function runBatch(cfg: RunConfig, io: Io): Promise<RunOutcome> {
  // The output is checked and locked first: a second run on the same --out fails fast, and
  // nothing below (resume's repair, the sink) touches the file without holding the lock.
  const target = await checkOutputTarget(cfg);
  const lock = target.regular && target.real ? await OutputLock.acquire(target.real, { notice: (line) => io.stderr.write(`${line}\n`) }) : null;
  if (lock && io.signals) lock.installSignalRelease(io.signals);
  try {
    return await runLockedBatch(cfg, io, target, lock);
  } finally {
    lock?.releaseSync();
  }
}

async function runLockedBatch(cfg: RunConfig, io: Io, target: OutputTarget, lock: OutputLock | null): Promise<RunOutcome> {
  const report = new RunReport(cfg, { stderr: io.stderr });
  const say = (line: string) => {
    if (!cfg.quiet) io.stderr.write(`${line}\n`);
  };

  const expanded = await expandInputs(cfg.inputs, { recursive: cfg.recursive, pathColumn: cfg.pathColumn, stdin: io.stdin });
  // Sharding happens on the full, de-duplicated list, so every worker sees the same split.
  const jobs = cfg.shard ? selectShard(expanded.jobs, cfg.shard, await shardRoot(cfg.inputs, process.cwd())) : expanded.jobs;
  if (cfg.shard) say(describeShard(cfg.shard, jobs.length, expanded.jobs.length));
  const model = await resolveModel(cfg.modelPath, { namesFile: cfg.namesFile ?? undefined, imgsz: cfg.imgsz ?? undefined });
  // --classes is checked against the model's classes, and names become ids, before any work; the
  // report and the workers then see the ids actually kept.
  cfg.post = { ...cfg.post, classes: resolveClasses(cfg.post.classes, cfg.classNames, model.names, cfg.modelPath) };
  await checkOutputNotInput(target, cfg.inputs, expanded.jobs);
  await checkSummaryTarget(cfg.summaryPath, cfg.out);
  const saver = await prepareVisualOutputs(cfg, process.cwd());
  // What produced the results: the output's header, and what --resume checks the file against.
  const provenance = await runProvenance(cfg, model);
  // Resume plans over this shard's own jobs: what an earlier run of it already wrote is skipped.
  const resume = await planResume(cfg, jobs, { provenance, force: cfg.force, warn: (line) => io.stderr.write(`yolo-serve: ${line}\n`) });
  const resumeNote = describeResume(cfg, resume, jobs.length);
  if (resumeNote) say(resumeNote);
  const labels = cfg.saveTxt ? await openLabelWriter(cfg.saveTxt, cfg.saveConf) : null;

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
  const modelBytes = (await stat(model.path)).size;
  const planFor = (device: DeviceKind) => planParallelism({ device, cores: availableParallelism(), dynamicBatch: model.dynamicBatch, workers: cfg.workers, threads: cfg.threads, batch: cfg.batch, modelBytes });
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
  par = actual;
  // --batch auto on a GPU: measure which batch size keeps it busiest (batch-calibration.ts).
  if (pool.device !== 'cpu' && cfg.batch === 'auto' && model.dynamicBatch) {
    const calibration = await calibrateBatch((b, runs) => pool.timeBatch(b, runs), { candidates: candidatesFor(model.imgsz[0], model.imgsz[1]) });
    par = { ...par, batch: calibration.batch };
    if (cfg.verbose) say(describeCalibration(calibration));
  }
  // From here until the outputs are closed, SIGINT/SIGTERM and the error budget stop the run gracefully.
  const guard = new RunGuard({ maxFailures: cfg.maxFailures, maxFailureRate: cfg.maxFailureRate, signals: io.signals, stderr: io.stderr, beforeDie: () => lock?.releaseSync() });
  try {
    if (cfg.device === 'auto' && pool.device === 'cpu' && (plan.skipped.length > 0 || pool.fallbacks.length > 0)) {
      // One short line: the reasons without their fix-it hints (`yolo-serve inspect` shows those).
      const why = [...plan.skipped, ...pool.fallbacks].map((f) => `${f.device}: ${f.reason.replace(/ \(.*\)$/, '')}`).join('; ');
      say(`device: cpu (${why})`);
    }
    const spec = settleTask(model, pool.probeDims);
    const layout = spec.layout;
    pool.configure({ type: 'configure', spec, names: model.names, post: cfg.post });

    const opened = await openSink(cfg.out, cfg.format, { append: cfg.resume, header: { provenance, mixed: [] }, taskColumns: taskNamed(model.task)!.csvColumns }).catch((err: Error) => {
      throw new UsageError(err.message);
    });
    // The report counts a record once it has reached the output, not when it is handed over.
    const sink = guard.guardSink(opened, (r) => report.onResult(r));
    report.startProgress(resume.jobs.length);
    const outcome = await guard.drive(sink, resume.jobs.length, (signal) =>
      runPipeline(resume.jobs, pool, sink, {
        imgsz: model.imgsz,
        batch: par.batch,
        decodeConcurrency: cfg.decodeConcurrency,
        maxPixels: cfg.maxPixels,
        fastDecode: cfg.fastDecode,
        preprocess: taskNamed(model.task)!.preprocess,
        decode: decodeOptions(cfg),
        metrics: report.metrics,
        onResult: labels ? (r) => labels.write(r) : undefined,
        onWritten: saver ? (r, image) => saver.enqueue(r, image) : undefined,
        keepImages: saver !== null,
        signal,
      }),
    );
    // Images still being drawn belong to this run: its wall time and the report include them.
    await saver?.flush();
    // The bar must be gone before the guard explains why the run stopped.
    report.stopProgress();
    if (cfg.verbose) {
      const sizes = outcome.batchSizes.map((n, size) => (n > 0 ? `${size}×${n}` : '')).filter(Boolean).join(', ');
      say(`inference: ${outcome.batches} runs; images per run: ${sizes || 'none'}`);
    }
    const result = guard.finish(outcome, resume.skippedFailed);
    const labelError = await labels?.close();
    if (labelError) {
      io.stderr.write(`yolo-serve: error: ${labelError.message}\n`);
      if (result.exitCode < EXIT_RUN_FAILED) result.exitCode = EXIT_RUN_FAILED;
    } else if (labels?.duplicates) {
      say(`warning: --save-txt: ${labels.duplicates} images share a file name stem with another image; the later one's labels were kept`);
    }
    const finished = await report.finish({
      exitCode: result.exitCode,
      outcome,
      // Every shard sees the same non-image files; only shard 0 counts them so merged summaries add up.
      skipped: cfg.shard && cfg.shard.index > 0 ? 0 : expanded.skipped,
      model,
      layout,
      device: { used: pool.device, skipped: plan.skipped, failed: pool.fallbacks },
      parallelism: par,
      interrupted: result.interrupted,
      stopReason: result.stop ? describeStop(result.stop) : null,
    });
    let { exitCode } = finished;
    const saved = saver?.describe();
    // Files that could not be written are worth a line even under --quiet.
    if (saved && saver!.failures > 0) io.stderr.write(`yolo-serve: ${saved}\n`);
    else if (saved) say(saved);
    if (cfg.reportPath !== null) {
      // Like the summary: a report that could not be written turns a clean exit into 1.
      try {
        say(describeReport(cfg.reportPath, await writeReport({ results: [cfg.out], summary: finished.summary, summarySources: [], html: cfg.reportPath })));
      } catch (err) {
        io.stderr.write(`yolo-serve: error: cannot write report ${cfg.reportPath}: ${(err as Error).message}\n`);
        exitCode = Math.max(exitCode, 1);
      }
    }
    return { ...result, exitCode };
  } finally {
    report.stopProgress();
    guard.dispose();
    await pool.close();
  }
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

/** One run's decode settings; its budget is shared by all of the run's decodes. */
function decodeOptions(cfg: RunConfig): DecodeOptions {
  return { maxPixels: cfg.maxPixels, maxFileBytes: cfg.maxFileBytes, allowVector: cfg.allowVector, budget: DecodeBudget.forLimits(cfg.maxPixels, cfg.maxFileBytes) };
}

function describeStop(stop: StopReason): string {
  return stop.kind === 'signal' ? `interrupted by ${stop.signal}` : stop.message;
}

/** `--save-txt DIR`: created before any work starts, so a bad folder costs nothing. */
async function openLabelWriter(dir: string, withConf: boolean): Promise<LabelWriter> {
  const { LabelWriter } = await import('../exports/yolo-txt.js');
  return LabelWriter.open(dir, withConf).catch((err: Error) => {
    throw new UsageError(`--save-txt ${dir}: ${err.message}`);
  });
}
