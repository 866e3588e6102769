// Decides batch size, worker count and intra-op threads from the device, the model and the
// machine. Pure, so the choices are testable and explainable in the run summary.
import type { Auto } from '../config.js';
import type { DeviceKind } from './protocol.js';

export interface Parallelism {
  workers: number;
  threads: number;
  batch: number;
}

export interface PlanInput {
  device: DeviceKind;
  cores: number;
  dynamicBatch: boolean;
  workers: number | Auto;
  threads: number | Auto;
  batch: number | Auto;
}

export function planParallelism(p: PlanInput): Parallelism {
  const gpu = p.device !== 'cpu';
  // A GPU is fed best by one session with big batches; several sessions only contend for it.
  // On CPU, single-threaded sessions side by side beat one multi-threaded session (ORT's
  // intra-op scaling on these small convolutions is poor), so one worker per core, capped so
  // that session memory stays modest on big machines.
  const workers = p.workers !== 'auto' ? p.workers : gpu ? 1 : Math.max(1, Math.min(p.cores, 8));
  const threads = p.threads !== 'auto' ? p.threads : gpu ? 1 : Math.max(1, Math.floor(p.cores / workers));
  const wanted = p.batch !== 'auto' ? p.batch : gpu ? 16 : 1;
  const batch = p.dynamicBatch ? wanted : 1;
  return { workers, threads, batch };
}
