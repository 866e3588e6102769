// The command-line program: flags are parsed once into a RunConfig; failures map to exit codes.
// Errors a user can fix are one line on stderr (a stack trace only with --verbose).
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { RunConfig } from './config.js';
import { DEFAULTS, UsageError, parseAutoInt, parseClasses, parseDevice, parseFormat, parseByteSize, parseImgsz, parseMaskFormat, parseNumber, parseShard } from './config.js';
import { inspectCommand } from './commands/inspect.js';
import { registerMergeCommand } from './commands/merge.js';
import { registerReportCommand } from './commands/report.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerDiffCommand } from './commands/diff.js';
import { registerExportCommand } from './commands/export.js';
import { InferenceError } from './inference/pool.js';
import { InputError } from './inputs/input-error.js';
import { resolveShard } from './inputs/shard.js';
import { ModelError } from './model/errors.js';
import { formatFromPath } from './outputs/sink.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, exitCodesHelp, type ExitCode } from './exit-codes.js';
import { endStoppedProcess } from './reliability/stuck-exit.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Errors that mean "the run could not start"; anything else is a bug and keeps its stack. */
function isUserError(err: unknown): err is Error {
  return err instanceof UsageError || err instanceof InputError || err instanceof ModelError || err instanceof InferenceError;
}

interface BatchFlags {
  model?: string;
  names?: string;
  imgsz?: string;
  device: string;
  batch: string;
  workers: string;
  threads: string;
  conf: string;
  iou: string;
  maxDet: string;
  classes?: string;
  agnosticNms?: boolean;
  retinaMasks?: boolean;
  maskFormat?: string;
  out?: string;
  format?: string;
  recursive: boolean;
  pathColumn: string;
  maxPixels: string;
  fastDecode?: boolean;
  maxFileSize?: string;
  allowVector?: boolean;
  overwrite?: boolean;
  force?: boolean;
  resume?: boolean;
  retryFailed?: boolean;
  maxFailures?: string;
  maxFailureRate?: string;
  shard?: string;
  shardCount?: string;
  summary?: string;
  saveAnnotated?: string;
  saveCrops?: string;
  annotateQuality?: string;
  annotateMaxSide?: string;
  report?: string;
  saveTxt?: string;
  saveConf?: boolean;
  progress: boolean;
  progressInterval: string;
  verbose?: boolean;
  quiet?: boolean;
}

export function toRunConfig(inputs: string[], f: BatchFlags, env: NodeJS.ProcessEnv): RunConfig {
  const modelPath = f.model ?? env.YOLO_SERVE_MODEL;
  if (!modelPath) throw new UsageError('no model given: pass --model PATH or set YOLO_SERVE_MODEL');
  if (!f.out) throw new UsageError('no output given: pass --out FILE (.jsonl or .csv), or --out - for stdout');
  const format = f.format ? parseFormat(f.format) : f.out === '-' ? 'jsonl' : formatFromPath(f.out);
  if (f.saveConf && !f.saveTxt) throw new UsageError('--save-conf needs --save-txt DIR');
  if (!format) throw new UsageError(`cannot tell the output format from '${f.out}': use a .jsonl or .csv name, or --format`);
  const shardCount = f.shardCount !== undefined ? parseNumber('--shard-count', f.shardCount, { min: 1, integer: true }) : null;
  const classes = f.classes ? parseClasses(f.classes) : null;
  return {
    inputs,
    recursive: f.recursive,
    pathColumn: f.pathColumn,
    modelPath,
    namesFile: f.names ?? null,
    imgsz: f.imgsz ? parseImgsz(f.imgsz) : null,
    device: parseDevice(f.device),
    batch: parseAutoInt('--batch', f.batch),
    workers: parseAutoInt('--workers', f.workers),
    threads: parseAutoInt('--threads', f.threads),
    decodeConcurrency: DEFAULTS.decodeConcurrency,
    post: {
      conf: parseNumber('--conf', f.conf, { min: 0, max: 1 }),
      iou: parseNumber('--iou', f.iou, { min: 0, max: 1 }),
      maxDet: parseNumber('--max-det', f.maxDet, { min: 1, integer: true }),
      classes: classes ? classes.ids : null,
      agnostic: Boolean(f.agnosticNms),
      retinaMasks: Boolean(f.retinaMasks),
      maskFormat: parseMaskFormat(f.maskFormat ?? DEFAULTS.maskFormat),
    },
    classNames: classes && classes.names.length > 0 ? classes.names : null,
    maxPixels: parseNumber('--max-pixels', f.maxPixels, { min: 1, integer: true }),
    fastDecode: Boolean(f.fastDecode),
    maxFileBytes: f.maxFileSize !== undefined ? parseByteSize('--max-file-size', f.maxFileSize) : DEFAULTS.maxFileBytes,
    allowVector: Boolean(f.allowVector),
    out: f.out,
    format,
    summaryPath: f.summary ?? null,
    annotateDir: f.saveAnnotated ?? null,
    cropsDir: f.saveCrops ?? null,
    annotateQuality: f.annotateQuality === undefined ? DEFAULTS.annotateQuality : parseNumber('--annotate-quality', f.annotateQuality, { min: 1, max: 100, integer: true }),
    annotateMaxSide: f.annotateMaxSide !== undefined ? parseNumber('--annotate-max-side', f.annotateMaxSide, { min: 16, integer: true }) : null,
    reportPath: f.report ?? null,
    saveTxt: f.saveTxt ?? null,
    saveConf: Boolean(f.saveConf),
    resume: Boolean(f.resume),
    retryFailed: Boolean(f.retryFailed),
    overwrite: Boolean(f.overwrite),
    force: Boolean(f.force),
    maxFailures: f.maxFailures !== undefined ? parseNumber('--max-failures', f.maxFailures, { min: 0, integer: true }) : null,
    maxFailureRate: f.maxFailureRate !== undefined ? parseNumber('--max-failure-rate', f.maxFailureRate, { min: 0, max: 1 }) : null,
    shard: resolveShard(f.shard !== undefined ? parseShard(f.shard) : null, shardCount, env),
    shardCount,
    progress: f.progress ? 'auto' : 'off',
    progressIntervalSec: parseNumber('--progress-interval', f.progressInterval, { min: 0.1 }),
    quiet: Boolean(f.quiet),
    verbose: Boolean(f.verbose),
  };
}

export function buildProgram(onExit: (code: ExitCode) => void): Command {
  const program = new Command('yolo-serve')
    .description('Offline batch object detection with Ultralytics YOLO models exported to ONNX.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('batch')
    .description('detect objects in images and stream the results to JSONL or CSV')
    .argument('<inputs...>', 'image files, directories, quoted globs, manifests (.txt/.csv/.jsonl), or - for paths on stdin')
    .option('-m, --model <path>', 'ONNX model (default: $YOLO_SERVE_MODEL)')
    .option('-o, --out <file>', 'output file (.jsonl or .csv), or - for stdout')
    .addOption(new Option('--format <format>', 'output format (default: from --out extension)').choices(['jsonl', 'csv']))
    .option('--names <file>', 'class names file (json, "0: person" lines, or one name per line)')
    .option('--imgsz <n|h,w>', 'input size for dynamic-shape models (default: model metadata, else 640)')
    .option('--device <device>', 'auto | cpu | cuda | tensorrt | webgpu', DEFAULTS.device)
    .option('--conf <n>', 'confidence threshold', String(DEFAULTS.conf))
    .option('--iou <n>', 'NMS IoU threshold', String(DEFAULTS.iou))
    .option('--max-det <n>', 'maximum detections per image', String(DEFAULTS.maxDet))
    .option('--classes <ids|names>', 'keep only these classes, by id or name, e.g. 0,2 or person,car')
    .option('--agnostic-nms', 'class-agnostic NMS')
    .option('--retina-masks', 'segment: masks at the original image resolution (Ultralytics retina_masks)')
    .option('--mask-format <format>', 'segment: polygon (largest contour, "segments") | rle (COCO RLE, "rle")', DEFAULTS.maskFormat)
    .option('--batch <n|auto>', 'images per inference call (dynamic-batch models)', DEFAULTS.batch)
    .option('--workers <n|auto>', 'inference sessions running in parallel', DEFAULTS.workers)
    .option('--threads <n|auto>', 'intra-op threads per session', DEFAULTS.threads)
    .option('--no-recursive', 'do not descend into subdirectories')
    .option('--path-column <name>', 'column holding the image path in .csv manifests', DEFAULTS.pathColumn)
    .option('--max-pixels <n>', 'reject images with more pixels than this; also bounds the pixels decoded at once', String(DEFAULTS.maxPixels))
    .option('--max-file-size <bytes>', 'reject image files larger than this, unread (e.g. 64M, 1G)', String(DEFAULTS.maxFileBytes))
    .option('--allow-vector', 'render SVG images (refused by default: an SVG chooses its own pixel size)')
    .option('--fast-decode', 'decode JPEGs at least 3× the network input at about network size (shrink-on-load): much faster on big photos, not pixel-exact with Ultralytics')
    .option('--overwrite', 'replace an existing output file')
    .option('--resume', 'continue an earlier run: skip images already in --out and append the rest')
    .option('--retry-failed', 'with --resume, process images recorded as failed again')
    .option('--force', 'with --resume, append even though --out was written by a different model or options (mixes results; said loudly)')
    .option('--max-failures <n>', 'stop the run (exit 1) once more than N images have failed')
    .option('--max-failure-rate <r>', 'stop the run (exit 1) once more than this fraction of images has failed, e.g. 0.05')
    .option('--shard <index/count>', 'process only shard INDEX of COUNT (zero-based), e.g. 3/16')
    .option('--shard-count <n>', 'shard count when the index comes from JOB_COMPLETION_INDEX (or $YOLO_SERVE_SHARD_COUNT)')
    .option('--summary <file>', 'write the run summary as JSON')
    .option('--save-annotated <dir>', 'write each image drawn with its detections under DIR, mirroring the input folders')
    .option('--save-crops <dir>', 'write each detection cropped from the image as DIR/<class name>/<image name>.jpg')
    .option('--annotate-quality <n>', 'JPEG quality of annotated images (1-100)', String(DEFAULTS.annotateQuality))
    .option('--annotate-max-side <px>', 'downscale annotated images so their longest side is at most PX')
    .option('--report <file>', 'write an HTML run report (as yolo-serve report) at the end of the run')
    .option('--save-txt <dir>', 'also write YOLO txt labels, <dir>/<image stem>.txt (Ultralytics save_txt)')
    .option('--save-conf', 'with --save-txt, append each detection\'s confidence (Ultralytics save_conf)')
    .option('--no-progress', 'no progress bar or status lines')
    .option('--progress-interval <sec>', 'seconds between status lines when stderr is not a terminal', String(DEFAULTS.progressIntervalSec))
    .option('-q, --quiet', 'print only errors and the final summary')
    .option('-v, --verbose', 'more detail, and stack traces on errors')
    .addHelpText(
      'after',
      `
Examples:
  $ yolo-serve batch ./images --model yolo11n.onnx --out results.jsonl
  $ yolo-serve batch 'data/**/*.jpg' manifest.txt --model yolov8n.onnx --out dets.csv --conf 0.4 --classes 0,2
  $ find /data -name '*.png' | yolo-serve batch - --model yolo11n.onnx --out - > dets.jsonl
  $ yolo-serve batch /data/today --model yolo11n.onnx --out dets.jsonl --summary run.json --progress-interval 30

${exitCodesHelp('batch')}`,
    )
    .action(async (inputs: string[], flags: BatchFlags) => {
      const cfg = toRunConfig(inputs, flags, process.env);
      // Loaded here: batch pulls in sharp and the pipeline, which merge, inspect and --help do not need.
      const { runBatch } = await import('./commands/batch.js');
      const { exitCode, stop } = await runBatch(cfg, { stdin: process.stdin, stderr: process.stderr, signals: process });
      onExit(exitCode);
      // A stopped run ends now, even with a read stuck in the kernel (reliability/stuck-exit.ts).
      if (stop?.kind === 'signal') endStoppedProcess(process, stop.signal);
    });

  program.addCommand(inspectCommand(onExit));
  registerMergeCommand(program, onExit);
  registerReportCommand(program, onExit);
  registerEvalCommand(program, onExit);
  registerDiffCommand(program, onExit);
  registerExportCommand(program, onExit);
  program.addHelpText(
    'after',
    `
Examples:
  $ yolo-serve batch ./images --model yolo11n.onnx --out results.jsonl --summary summary.json
  $ yolo-serve inspect yolo11n.onnx
  $ yolo-serve eval results.jsonl --labels labels/ --fail-under mAP50=0.55
  $ yolo-serve diff yesterday.jsonl today.jsonl --fail-if 'changed-images>0.05'
  $ yolo-serve export results.jsonl --to coco --out detections.json

Run 'yolo-serve help <command>' for a command's options.`,
  );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const program = buildProgram((code) => {
    process.exitCode = code;
  });
  // Subcommands copy exitOverride from their parent only when they are created, so each one
  // needs its own; otherwise commander exits with its own code 1 for a bad flag, not 2.
  for (const cmd of [program, ...program.commands]) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed the message (or help/version, which exit 0).
      process.exitCode = e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
      return;
    }
    if (isUserError(err)) {
      // Input errors list every problem, one per line: prefix each so grep finds them all.
      for (const line of err.message.split('\n')) process.stderr.write(`yolo-serve: ${line}\n`);
      if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`yolo-serve: internal error: ${err instanceof Error ? (verbose ? err.stack : err.message) : String(err)}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}

