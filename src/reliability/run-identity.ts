// The identity of a batch run — what goes into its results file's provenance header — and the
// check that an existing file was produced the same way before --resume appends to it.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { RunConfig } from '../config.js';
import { UsageError } from '../config.js';
import { toolVersions } from '../metrics/versions.js';
import { sha256File } from '../model/digest.js';
import { RESULTS_SCHEMA, describeDifferences, diffProvenance, type JsonValue, type Provenance, type ResultsHeader } from '../outputs/provenance.js';
import type { ModelInfo } from '../types.js';

type IdentityConfig = Pick<RunConfig, 'post' | 'maxPixels' | 'maxFileBytes' | 'allowVector'>;
type IdentityModel = Pick<ModelInfo, 'path' | 'task' | 'names' | 'imgsz'>;

/**
 * The options that change what a run writes. Add every new one here (a task's mask format, say):
 * --resume and merge then refuse to mix files that differ in it.
 */
export function resultOptions(cfg: IdentityConfig, model: IdentityModel): Record<string, JsonValue> {
  const options: Record<string, JsonValue> = {
    conf: cfg.post.conf,
    iou: cfg.post.iou,
    max_det: cfg.post.maxDet,
    classes: cfg.post.classes,
    agnostic_nms: cfg.post.agnostic,
    imgsz: [...model.imgsz],
    max_pixels: cfg.maxPixels,
    // Which files become TOO_LARGE or UNSUPPORTED_TYPE records instead of detections.
    max_file_bytes: cfg.maxFileBytes,
    allow_vector: cfg.allowVector,
  };
  // Task options count only where they change the records: a mask format means nothing to detect.
  if (model.task === 'segment') {
    options.retina_masks = cfg.post.retinaMasks ?? false;
    options.mask_format = cfg.post.maskFormat ?? 'polygon';
  }
  return options;
}

/** The provenance of a run of `model` with `cfg` (hashes the model file unless its `sha256` is given). */
export async function runProvenance(cfg: IdentityConfig, model: IdentityModel, sha256?: string): Promise<Provenance> {
  return {
    schema: RESULTS_SCHEMA,
    version: toolVersions().yolo_serve,
    task: model.task ?? 'detect',
    model: {
      file: path.basename(model.path),
      sha256: sha256 ?? (await sha256File(model.path)),
      names_sha256: createHash('sha256').update(JSON.stringify(model.names)).digest('hex'),
    },
    options: resultOptions(cfg, model),
  };
}

/**
 * Refuses (UsageError, exit 2) to add this run's records to `out` when its header says another
 * model or other settings produced it, naming every difference — unless `force`, in which case
 * the differences are returned for the caller to announce.
 */
export function checkSameRun(out: string, file: ResultsHeader, run: Provenance, force: boolean): string[] {
  const diffs = describeDifferences(diffProvenance(file.provenance, run), out, 'this run');
  if (diffs.length > 0 && !force) {
    throw new UsageError(
      [`cannot resume ${out}: it was written by a different run, and one file must not mix results:`, ...diffs.map((d) => `  ${d}`),
        `use the same model and options, another --out, --overwrite to replace it, or --force to mix them anyway`].join('\n'),
    );
  }
  return diffs;
}
