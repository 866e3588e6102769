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
import type { DeviceKind } from './inference/protocol.js';
import { expandInputs } from './inputs/expand.js';
import { detectLayoutFromRuntimeShape } from './model/layout.js';
import { resolveModel } from './model/resolve.js';
import { openSink } from './outputs/sink.js';
import { runPipeline } from './pipeline.js';

export const EXIT_OK = 0;
export const EXIT_SOME_FAILED = 1;
export const EXIT_USAGE = 2;

export interface Io {
  stdin: NodeJS.ReadableStream;
  stderr: NodeJS.WritableStream;
}

export interface RunOutcome {
  exitCode: number;
}

export async function runBatch(cfg: RunConfig, io: Io): Promise<RunOutcome> {
  const started = performance.now();
  const say = (line: string) => {
    if (!cfg.quiet) io.stderr.write(`${line}\n`);
  };

  const expanded = await expandInputs(cfg.inputs, { recursive: cfg.recursive, pathColumn: cfg.pathColumn, stdin: io.stdin });
  const model = await resolveModel(cfg.modelPath, { namesFile: cfg.namesFile ?? undefined, imgsz: cfg.imgsz ?? undefined });
  await checkOutputTarget(cfg);

  const plan = planDevices(cfg.device);
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
  const firstDevice = plan.candidates[0] ?? 'cpu';
  const modelBytes = (await stat(model.path)).size;
  const planFor = (device: DeviceKind) => planParallelism({ device, cores: availableParallelism(), dynamicBatch: model.dynamicBatch, workers: cfg.workers, threads: cfg.threads, batch: cfg.batch, modelBytes });
  const init = (threads: number) => ({ modelPath: model.path, intraOpThreads: threads, inputName: model.inputName, inputType: model.inputType, outputName: model.outputName, outputType: model.outputType, imgsz: model.imgsz });
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

    const sink = await openSink(cfg.out, cfg.format, { append: false });
    let outcome;
    try {
      outcome = await runPipeline(expanded.jobs, pool, sink, {
        imgsz: model.imgsz,
        batch: par.batch,
        decodeConcurrency: cfg.decodeConcurrency,
        maxPixels: cfg.maxPixels,
      });
    } finally {
      await sink.close();
    }
    if (cfg.verbose) say(`inference: ${outcome.batches} runs; images per run: ${outcome.batchSizes.map((n, size) => (n > 0 ? `${size}×${n}` : '')).filter(Boolean).join(', ') || 'none'}`);
    const wallS = (performance.now() - started) / 1000;
    const images = outcome.ok + outcome.failed;
    say(
      `yolo-serve: ${images} images (${outcome.ok} ok, ${outcome.failed} failed${expanded.skipped ? `, ${expanded.skipped} non-image files skipped` : ''}), ` +
        `${outcome.detections} detections in ${wallS.toFixed(1)}s (${(images / wallS).toFixed(1)} images/s, ${pool.device}, ${par.workers}×${par.threads} threads, batch ${par.batch})`,
    );
    if (outcome.fatal) {
      io.stderr.write(`yolo-serve: error: ${outcome.fatal.message}\n`);
      return { exitCode: EXIT_SOME_FAILED };
    }
    return { exitCode: outcome.failed > 0 ? EXIT_SOME_FAILED : EXIT_OK };
  } finally {
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
  const dir = dirname(resolve(cfg.out));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write output ${cfg.out}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
}
