// `yolo-serve batch`: one run, in named parts (src/run/): plan the inputs, open what the run
// holds, execute the pipeline, finish with the summary and one exit status. Everything that can
// be checked before work starts is checked before the pipeline runs, so a bad flag, model or input
// never costs a half-written output; everything opened is closed by one dispose.
import type { RunConfig } from '../config.js';
import type { RunResult } from '../reliability/run-guard.js';
import { RunCounter } from '../metrics/counts.js';
import { RunReport } from '../metrics/report.js';
import { Disposer } from '../run/dispose.js';
import { execute } from '../run/execute.js';
import { finish } from '../run/finish.js';
import { Observers, labelsObserver, reportObserver, saverObserver, type RunObserver } from '../run/observers.js';
import { lockOutput, openEngine, openResults, openSideOutputs, resolveRun, sayer, type RunIo } from '../run/open.js';
import { planInputs, planWork } from '../run/plan.js';

export { EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE } from '../exit-codes.js';

export type Io = RunIo;

/** exitCode, `interrupted` (SIGINT/SIGTERM) and `stop` (why the run ended early, or null). */
export type RunOutcome = RunResult;

export async function runBatch(cfg: RunConfig, io: Io): Promise<RunOutcome> {
  const say = sayer(cfg, io);
  const disposer = new Disposer();
  try {
    const out = await lockOutput(cfg, io, disposer);
    // The report's clock starts here: the summary's wall and start-up times include planning.
    // The run's one count of ok/failed: the guarded sink adds to it, everything else reads it.
    const counter = new RunCounter();
    const report = new RunReport(cfg, { stderr: io.stderr, counts: counter.committed });
    disposer.add('progress', () => report.stopProgress());
    const inputs = await planInputs(cfg, { stdin: io.stdin });
    if (inputs.note) say(inputs.note);
    const resolved = await resolveRun(cfg, inputs, out);
    const side = await openSideOutputs(cfg);
    const work = await planWork(cfg, inputs, resolved.provenance, (line) => io.stderr.write(`yolo-serve: ${line}\n`));
    if (work.note) say(work.note);
    const engine = await openEngine(cfg, resolved, io, out, disposer);
    const list: RunObserver[] = [reportObserver(report)];
    if (side.labels) list.push(labelsObserver(side.labels));
    if (side.saver) list.push(saverObserver(side.saver));
    const observers = new Observers(list);
    const sink = await openResults(cfg, engine, observers, counter);
    const outcome = await execute(cfg, work.jobs, { ...engine, sink, report, observers }, say);
    return await finish(cfg, outcome, { ...engine, report, ...side, inputs, work }, io, say);
  } finally {
    await disposer.dispose();
  }
}
