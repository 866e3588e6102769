// Names of the timed stages and the narrow interface the pipeline reports timings through, so
// the pipeline does not care how (or whether) they are aggregated.

export const STAGES = ['read_decode', 'preprocess', 'queue_wait', 'inference_batch', 'inference_image', 'postprocess', 'end_to_end'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageRecorder {
  record(stage: Stage, ms: number): void;
}

export const NO_METRICS: StageRecorder = { record() {} };
