// How eval and diff end: the report on stdout (text, or JSON with the gate's outcome), and a gate
// that failed as one line on stderr and exit code 1. stdout may be a pipe closed early
// (`yolo-serve eval r.jsonl | head`): that is the reader's choice, not an error worth a trace.
import type { Condition, GateFailure } from '../evaluate/gate.js';
import { EXIT_OK, EXIT_SOME_FAILED, type ExitCode } from '../exit-codes.js';

/** A --fail-under / --fail-if condition held. */
export const EXIT_GATE_FAILED = EXIT_SOME_FAILED;

export function writeReport(stream: NodeJS.WritableStream, text: string): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  stream.write(text);
}

export interface GatedReport {
  /** e.g. 'eval: --fail-under' */
  label: string;
  json: boolean;
  report: object;
  text: () => string;
  gate: readonly Condition[];
  failures: readonly GateFailure[];
  describe: (f: GateFailure) => string;
}

/** Prints the report and returns the exit code (0, or EXIT_GATE_FAILED). */
export function emitGatedReport(io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, r: GatedReport): ExitCode {
  if (r.json) {
    const gate = { conditions: r.gate.map((c) => c.text), passed: r.failures.length === 0, failures: r.failures.map(r.describe) };
    writeReport(io.stdout, `${JSON.stringify({ ...r.report, gate }, null, 2)}\n`);
  } else {
    writeReport(io.stdout, r.text());
  }
  if (r.failures.length === 0) return EXIT_OK;
  io.stderr.write(`yolo-serve: ${r.label}: ${r.failures.map(r.describe).join('; ')}\n`);
  return EXIT_GATE_FAILED;
}
