// finish: how the run ended, told once — the guard's verdict, the side outputs' own failures, the
// summary (text on stderr, --summary), the HTML report — combined into one exit status with
// exit-codes.ts's `worse`.
import type { ImageSaver } from '../annotate/saver.js';
import { describeReport } from '../commands/report.js';
import type { RunConfig } from '../config.js';
import { EXIT_RUN_FAILED, EXIT_SOME_FAILED, worse, type ExitCode } from '../exit-codes.js';
import type { LabelWriter } from '../exports/yolo-txt.js';
import type { RunReport } from '../metrics/report.js';
import type { PipelineOutcome } from '../pipeline.js';
import type { RunGuard, RunResult, StopReason } from '../reliability/run-guard.js';
import { writeReport } from '../report/index.js';
import type { ResolvedRun } from './open.js';
import type { InputPlan, WorkPlan } from './plan.js';

/** What can still go wrong after the pipeline: each adds to the run's status through `worse`. */
export interface LateProblems {
  /** --save-txt could not write a label file: results the user asked for are missing. */
  labels: boolean;
  /** --summary or --report could not be written: a CI step would otherwise read a stale file. */
  reports: boolean;
}

/** The run's exit status: the guard's, made worse by what failed after it (exit-codes.ts). */
export function finalExitCode(run: ExitCode, late: LateProblems): ExitCode {
  let code: ExitCode = run;
  if (late.labels) code = worse(code, EXIT_RUN_FAILED);
  if (late.reports) code = worse(code, EXIT_SOME_FAILED);
  return code;
}

export interface FinishParts {
  run: ResolvedRun;
  guard: RunGuard;
  report: RunReport;
  saver: ImageSaver | null;
  labels: LabelWriter | null;
  inputs: InputPlan;
  work: WorkPlan;
}

type FinishConfig = Pick<RunConfig, 'device' | 'out' | 'reportPath'>;

export async function finish(cfg: FinishConfig, outcome: PipelineOutcome, p: FinishParts, io: { stderr: NodeJS.WritableStream }, say: (line: string) => void): Promise<RunResult> {
  const error = (line: string) => void io.stderr.write(`yolo-serve: ${line}\n`);
  const result = p.guard.finish(outcome, p.work.skippedFailed);
  const labelError = await p.labels?.close();
  if (labelError) error(`error: ${labelError.message}`);
  else if (p.labels?.duplicates) say(`warning: --save-txt: ${p.labels.duplicates} images share a file name stem with another image; the later one's labels were kept`);
  const afterLabels = finalExitCode(result.exitCode, { labels: Boolean(labelError), reports: false });
  const { run } = p;
  const finished = await p.report.finish({
    exitCode: afterLabels,
    outcome,
    skipped: p.inputs.skippedFiles,
    model: run.model,
    layout: run.layout,
    device: run.device,
    parallelism: run.parallelism,
    interrupted: result.interrupted,
    stopReason: result.stop ? describeStop(result.stop) : null,
    post: run.post,
    modelFile: run.modelFile,
  });
  const saved = p.saver?.describe();
  // Files that could not be written are worth a line even under --quiet.
  if (saved && p.saver!.failures > 0) error(saved);
  else if (saved) say(saved);
  let reportFailed = false;
  if (cfg.reportPath !== null) {
    try {
      say(describeReport(cfg.reportPath, await writeReport({ results: [cfg.out], summary: finished.summary, summarySources: [], html: cfg.reportPath })));
    } catch (err) {
      error(`error: cannot write report ${cfg.reportPath}: ${(err as Error).message}`);
      reportFailed = true;
    }
  }
  return { ...result, exitCode: finalExitCode(finished.exitCode, { labels: false, reports: reportFailed }) };
}

function describeStop(stop: StopReason): string {
  return stop.kind === 'signal' ? `interrupted by ${stop.signal}` : stop.message;
}
