// `yolo-serve eval RESULTS --labels LABELS`: accuracy of a results file against ground truth,
// with a CI gate (--fail-under). The evaluation modules load only when the command runs.
import type { Command } from 'commander';
import { UsageError, parseNumber } from '../config.js';
import { EXIT_OK, exitCodesHelp, type ExitCode } from '../exit-codes.js';
import { EXIT_GATE_FAILED, emitGatedReport } from './stdout.js';

export const EVAL_OK = EXIT_OK;
/** --fail-under: a metric is below its floor. */
export const EVAL_GATE_FAILED = EXIT_GATE_FAILED;

interface EvalFlags {
  labels?: string;
  conf?: string;
  names?: string;
  failUnder?: string;
  json?: boolean;
  perClass: boolean;
}

export interface EvalIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function runEvalCommand(results: string, flags: EvalFlags, io: EvalIo): Promise<ExitCode> {
  const { evaluateResults, formatEvalReport, gateValues, GATE_METRICS } = await import('../evaluate/evaluate.js');
  const { parseGate, checkGate, describeFailure } = await import('../evaluate/gate.js');
  const gate = flags.failUnder !== undefined ? parseGate('--fail-under', flags.failUnder, GATE_METRICS, '<') : [];
  let names: string[] | null = null;
  if (flags.names) {
    const { readFile } = await import('node:fs/promises');
    const { parseNamesFile } = await import('../model/names.js');
    const text = await readFile(flags.names, 'utf8').catch((err: Error) => {
      throw new UsageError(`--names ${flags.names}: ${err.message}`);
    });
    names = parseNamesFile(text, flags.names);
  }
  const report = await evaluateResults({
    results,
    labels: flags.labels ?? null,
    conf: flags.conf !== undefined ? parseNumber('--conf', flags.conf, { min: 0, max: 1 }) : null,
    names,
  });
  const values = gateValues(report);
  const absent = gate.find((c) => Number.isNaN(values[c.metric]));
  if (absent) throw new UsageError(`--fail-under: ${absent.metric} is not available for ${results} (${absent.metric.startsWith('mask') ? 'no segmentation masks' : absent.metric.startsWith('pose') ? 'no keypoints' : 'no ground truth'} in it)`);
  const failures = checkGate(gate, values);
  // In text mode the warnings end the report; with --json they go to stderr beside it.
  if (flags.json) for (const w of report.warnings) io.stderr.write(`yolo-serve: warning: ${w}\n`);
  return emitGatedReport(io, { label: 'eval: --fail-under', json: Boolean(flags.json), report, text: () => formatEvalReport(report, { perClass: flags.perClass }), gate, failures, describe: (f) => describeFailure(f) });
}

export function registerEvalCommand(program: Command, onExit: (code: ExitCode) => void): void {
  program
    .command('eval')
    .description('score a results file against ground truth: COCO mAP (as pycocotools), Ultralytics mAP, P/R')
    .argument('<results>', 'results file from batch or merge (.jsonl or .csv)')
    .option('--labels <path>', 'a folder of YOLO .txt labels (<image stem>.txt), or a COCO instances .json (default: images/ → labels/ beside each image)')
    .option('--conf <n>', 'confidence threshold for the precision/recall line (default 0.25, batch\'s default)')
    .option('--names <file>', 'class names for the table (json, "0: person" lines, dataset yaml, or one per line)')
    .option('--fail-under <list>', 'exit 1 when a metric is below its floor, e.g. mAP50=0.55,mAP=0.35')
    .option('--json', 'print the report as JSON')
    .option('--no-per-class', 'leave out the per-class table')
    .addHelpText(
      'after',
      `
Run batch with a low threshold first, as yolo val does: mAP needs the low-confidence detections.
  $ yolo-serve batch images/ --model yolo11n.onnx --conf 0.001 --out val.jsonl
  $ yolo-serve eval val.jsonl --labels labels/ --fail-under mAP50=0.55,mAP=0.35

Metrics for --fail-under: mAP (mAP@[.50:.95]), mAP50, mAP75, mAP_small, mAP_medium, mAP_large,
AR1, AR10, AR100, AR_small, AR_medium, AR_large (COCOeval), precision, recall (at --conf),
ul_mAP50, ul_mAP50-95 (Ultralytics-style), mask_mAP, mask_mAP50 (segmentation results),
pose_mAP, pose_mAP50 (pose results).

${exitCodesHelp('eval')}`,
    )
    .action(async (results: string, flags: EvalFlags) => {
      onExit(await runEvalCommand(results, flags, { stdout: process.stdout, stderr: process.stderr }));
    });
}
