// The StageRecorder the pipeline reports to during a run: one streaming histogram per stage.
import { LatencyHistogram } from './histogram.js';
import { STAGES, type Stage, type StageRecorder } from './stages.js';

export class StageHistograms implements StageRecorder {
  readonly stages: Record<Stage, LatencyHistogram>;

  constructor() {
    this.stages = Object.fromEntries(STAGES.map((s) => [s, new LatencyHistogram()])) as Record<Stage, LatencyHistogram>;
  }

  record(stage: Stage, ms: number): void {
    this.stages[stage].record(ms);
  }
}
