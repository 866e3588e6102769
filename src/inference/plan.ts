// Decides batch size, worker count and intra-op threads from the device, the model and the
// machine. Pure, so the choices are testable and explainable in the run summary.
//
// Why a fixed rule and not a calibration run at start-up: on a 2-core machine (yolov8n_int8_640,
// ORT 1.30, see README "Throughput") two single-threaded sessions side by side gave ~1.4–1.6×
// the images/s of one 2-thread session and ~2× one 1-thread session, in every one of many
// repeated measurements, while the absolute figures moved by 2× with the machine's load. A
// calibration would cost seconds per run and pick by noise on a busy machine; the bench
// (`npm run bench`) prints every configuration, and --workers/--threads override the rule.
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
  /** Size of the model file; bounds the number of sessions for big models. */
  modelBytes?: number;
}

/** Most CPU sessions started by `auto`: beyond this, cores become intra-op threads instead. */
export const MAX_CPU_WORKERS = 8;
/** `auto` keeps sessions × model size under this (each session holds its own weights). */
export const SESSION_WEIGHTS_BUDGET = 1 << 30;
/**
 * Images per run on a GPU when the model has a dynamic batch dimension, as planned before the
 * session exists; with `--batch auto` commands/batch.ts then measures the batch size
 * (batch-calibration.ts) and uses that instead.
 */
export const GPU_BATCH = 16;

export function planParallelism(p: PlanInput): Parallelism {
  const gpu = p.device !== 'cpu';
  const cores = Math.max(1, Math.floor(p.cores));
  let workers: number;
  if (p.workers !== 'auto') workers = p.workers;
  else if (gpu) {
    // A GPU is fed best by one session with big batches; several sessions only contend for it.
    workers = 1;
  } else if (p.threads !== 'auto') {
    // Threads were chosen: as many sessions as fit on the cores without oversubscribing them.
    workers = Math.max(1, Math.floor(cores / p.threads));
  } else {
    // On CPU, single-threaded sessions side by side beat one multi-threaded session (ORT's
    // intra-op scaling on these small convolutions is poor): one per core, capped so that the
    // sessions' memory stays modest on big machines and with big models.
    const byMemory = p.modelBytes && p.modelBytes > 0 ? Math.max(1, Math.floor(SESSION_WEIGHTS_BUDGET / p.modelBytes)) : Infinity;
    workers = Math.max(1, Math.min(cores, MAX_CPU_WORKERS, byMemory));
  }
  const threads = p.threads !== 'auto' ? p.threads : gpu ? 1 : Math.max(1, Math.floor(cores / workers));
  // Batching does not make a CPU session faster per image (measured: batch 2–8 cost the same or
  // more CPU per image than batch 1 on yolov8n_int8_dynamic), it only adds latency and memory.
  const wanted = p.batch !== 'auto' ? p.batch : gpu ? GPU_BATCH : 1;
  const batch = p.dynamicBatch ? wanted : 1;
  return { workers, threads, batch };
}
