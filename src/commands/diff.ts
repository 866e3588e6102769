// `yolo-serve diff OLD NEW`: what changed between two runs over the same images, with a CI gate
// (--fail-if). The comparison modules load only when the command runs.
import type { Command } from 'commander';
import { UsageError, parseNumber } from '../config.js';
import { EXIT_OK, exitCodesHelp, type ExitCode } from '../exit-codes.js';
import { EXIT_GATE_FAILED, emitGatedReport } from './stdout.js';

export const DIFF_OK = EXIT_OK;
/** --fail-if: a condition held. */
export const DIFF_GATE_FAILED = EXIT_GATE_FAILED;

interface DiffFlags {
  iou: string;
  movedIou: string;
  top: string;
  failIf?: string;
  json?: boolean;
}

export interface DiffIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function runDiffCommand(oldFile: string, newFile: string, flags: DiffFlags, io: DiffIo): Promise<ExitCode> {
  const { diffResults, diffGateValues, formatDiffReport, DIFF_GATE_METRICS } = await import('../evaluate/diff.js');
  const { parseGate, checkGate, describeFailure } = await import('../evaluate/gate.js');
  const gate = flags.failIf !== undefined ? parseGate('--fail-if', flags.failIf, DIFF_GATE_METRICS, '>') : [];
  const report = await diffResults({
    old: oldFile,
    new: newFile,
    iou: parseNumber('--iou', flags.iou, { min: 0, max: 1 }),
    movedIou: parseNumber('--moved-iou', flags.movedIou, { min: 0, max: 1 }),
    top: parseNumber('--top', flags.top, { min: 0, integer: true }),
  });
  if (report.images.compared === 0) {
    throw new UsageError(`${oldFile} and ${newFile} have no image in common (${report.images.only_old} and ${report.images.only_new} images): are they runs over the same images?`);
  }
  const failures = checkGate(gate, diffGateValues(report));
  return emitGatedReport(io, { label: 'diff: --fail-if', json: Boolean(flags.json), report, text: () => formatDiffReport(report), gate, failures, describe: (f) => describeFailure(f) });
}

export function registerDiffCommand(program: Command, onExit: (code: ExitCode) => void): void {
  program
    .command('diff')
    .description('compare two results files of the same images: images changed, detections added/removed/moved, per class')
    .argument('<old>', 'the earlier results file (.jsonl or .csv; a merged shard output is fine)')
    .argument('<new>', 'the later results file')
    .option('--iou <n>', 'minimum IoU for two detections of one class to be the same object', '0.5')
    .option('--moved-iou <n>', 'a paired detection whose IoU is below this counts as moved', '0.9')
    .option('--top <n>', 'how many of the most-changed images to list', '10')
    .option('--fail-if <list>', 'exit 1 when a condition holds, e.g. changed-images>0.05,removed>10')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ yolo-serve diff yesterday.jsonl today.jsonl
  $ yolo-serve diff cpu.csv gpu.csv --fail-if 'changed-images>0.01' --json > diff.json

Metrics for --fail-if (METRIC OP VALUE, OP one of > >= < <= == !=, VALUE may end in %):
changed-images (fraction of compared images), changed-images-count, added, removed, moved,
changed-detections ((added+removed+moved) / OLD detections), detections-delta ((NEW−OLD) / OLD),
only-old, only-new (images in one file only), status-changed (failed in one run only).

${exitCodesHelp('diff')}`,
    )
    .action(async (oldFile: string, newFile: string, flags: DiffFlags) => {
      onExit(await runDiffCommand(oldFile, newFile, flags, { stdout: process.stdout, stderr: process.stderr }));
    });
}
