// `yolo-serve batch`: wires the stages together for one run and turns the outcome into an exit
// code. Everything that can be checked before work starts is checked here, so a bad flag, model
// or input never costs a half-written output.
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { RunConfig } from './config.js';
import { UsageError } from './config.js';
import { InferencePool } from './inference/pool.js';
import { planParallelism } from './inference/plan.js';
import { planDevices } from './inference/providers.js';
import { expandInputs } from './inputs/expand.js';
import { detectLayoutFromRuntimeShape } from './model/layout.js';
import { resolveModel } from './model/resolve.js';
import { openSink } from './outputs/sink.js';
import { runPipeline } from './pipeline.js';
import { describeResume, planResume } from './reliability/resume.js';
import type { RunResult } from './reliability/run-guard.js';
import { RunGuard } from './reliability/run-guard.js';
import type { SignalProcess } from './reliability/signals.js';

export const EXIT_OK = 0;
export const EXIT_SOME_FAILED = 1;
export const EXIT_USAGE = 2;

export interface Io {
  stdin: NodeJS.ReadableStream;
  stderr: NodeJS.WritableStream;
  /** SIGINT/SIGTERM source (the CLI passes `process`); absent: no signal handling. */
  signals?: SignalProcess;
}

/** exitCode, `interrupted` (SIGINT/SIGTERM) and `stop` (why the run ended early, or null). */
export interface RunOutcome extends RunResult {}

export async function runBatch(cfg: RunConfig, io: Io): Promise<RunOutcome> {
  const started = performance.now();
  const say = (line: string) => {
    if (!cfg.quiet) io.stderr.write(`${line}\n`);
  };

  const expanded = await expandInputs(cfg.inputs, { recursive: cfg.recursive, pathColumn: cfg.pathColumn, stdin: io.stdin });
  const model = await resolveModel(cfg.modelPath, { namesFile: cfg.namesFile ?? undefined, imgsz: cfg.imgsz ?? undefined });
  await checkOutputTarget(cfg);
  const resume = await planResume(cfg, expanded.jobs);
  const resumeNote = describeResume(cfg, resume, expanded.jobs.length);
  if (resumeNote) say(resumeNote);

  const plan = planDevices(cfg.device);
  for (const s of plan.skipped) if (cfg.verbose) say(`device ${s.device} skipped: ${s.reason}`);
  if (cfg.batch !== 'auto' && cfg.batch > 1 && !model.dynamicBatch) {
    say(`note: ${cfg.modelPath} has a fixed batch of 1; --batch ${cfg.batch} ignored`);
  }

  // libvips' own cache only helps when the same file is read twice; in a batch run it is memory
  // that grows with the dataset's variety.
  sharp.cache(false);

  // The provider decides the plan, but is only known once a session exists: start one worker
  // with the plan for the first candidate, then size the pool.
  const firstDevice = plan.candidates[0] ?? 'cpu';
  const par = planParallelism({ device: firstDevice, cores: availableParallelism(), dynamicBatch: model.dynamicBatch, workers: cfg.workers, threads: cfg.threads, batch: cfg.batch });
  const pool = await InferencePool.start(
    { modelPath: model.path, intraOpThreads: par.threads, inputName: model.inputName, inputType: model.inputType, outputName: model.outputName, outputType: model.outputType, imgsz: model.imgsz },
    plan.candidates,
    par.workers,
  );
  // From here until the outputs are closed, SIGINT/SIGTERM and the error budget stop the run gracefully.
  const guard = new RunGuard({ maxFailures: cfg.maxFailures, maxFailureRate: cfg.maxFailureRate, signals: io.signals, stderr: io.stderr });
  try {
    if (cfg.device === 'auto' && pool.device === 'cpu' && (plan.skipped.length > 0 || pool.fallbacks.length > 0)) {
      const why = [...plan.skipped, ...pool.fallbacks].map((f) => `${f.device}: ${f.reason}`).join('; ');
      say(`device: cpu (no GPU provider available — ${why})`);
    }
    // The declared output shape may be symbolic; the warm-up run's real dims settle the layout.
    const { layout } = detectLayoutFromRuntimeShape(pool.probeDims, model.names.length, model.metadata);
    if (!model.layoutPending && layout !== model.layout) {
      throw new UsageError(`${cfg.modelPath}: output shape [${pool.probeDims.join(', ')}] does not match the expected ${model.layout} layout`);
    }
    pool.configure({ type: 'configure', layout, names: model.names, post: cfg.post });

    const sink = guard.guardSink(await openSink(cfg.out, cfg.format, { append: cfg.resume }));
    const outcome = await guard.drive(sink, resume.jobs.length, (signal) =>
      runPipeline(resume.jobs, pool, sink, {
        imgsz: model.imgsz,
        batch: par.batch,
        decodeConcurrency: cfg.decodeConcurrency,
        maxPixels: cfg.maxPixels,
        signal,
      }),
    );
    const wallS = (performance.now() - started) / 1000;
    const images = outcome.ok + outcome.failed;
    say(
      `yolo-serve: ${images} images (${outcome.ok} ok, ${outcome.failed} failed${expanded.skipped ? `, ${expanded.skipped} non-image files skipped` : ''}), ` +
        `${outcome.detections} detections in ${wallS.toFixed(1)}s (${(images / wallS).toFixed(1)} images/s, ${pool.device}, ${par.workers}×${par.threads} threads, batch ${par.batch})`,
    );
    const result = guard.finish(outcome, resume.skippedFailed);
    // The --summary writer belongs here: result.interrupted and result.stop say how the run ended.
    return result;
  } finally {
    guard.dispose();
    await pool.close();
  }
}

/** The output must be writable and must not clobber earlier results by accident. */
async function checkOutputTarget(cfg: RunConfig): Promise<void> {
  if (cfg.out === '-') return;
  const st = await stat(cfg.out).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`--out ${cfg.out} is a directory; give a file path`);
  if (st && st.size > 0 && !cfg.overwrite && !cfg.resume) {
    throw new UsageError(`output ${cfg.out} already exists; pass --overwrite to replace it or --resume to continue it`);
  }
  if (st?.isFile()) {
    await access(cfg.out, constants.W_OK).catch(() => {
      throw new UsageError(`cannot write output ${cfg.out}: permission denied`);
    });
  }
  const dir = dirname(resolve(cfg.out));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write output ${cfg.out}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
}
