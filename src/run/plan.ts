// plan: what this run will do, before any model or output is opened — the inputs expanded, this
// shard's share of them, and (once the run's identity is known) the resume skip-set. Nothing here
// writes; everything is a value the later parts receive.
import type { RunConfig } from '../config.js';
import { expandInputs, type ExpandedInputs, type ExpandOptions } from '../inputs/expand.js';
import { describeShard, selectShard } from '../inputs/shard.js';
import { shardRoot } from '../inputs/shard-root.js';
import type { Provenance } from '../outputs/provenance.js';
import { describeResume, planResume, type ResumePlan } from '../reliability/resume.js';
import type { ImageJob } from '../types.js';

export interface InputPlan {
  /** Every input image, de-duplicated, in input order (all shards'). */
  all: readonly ImageJob[];
  /** This shard's images (all of them without --shard). */
  jobs: ImageJob[];
  /**
   * Non-image files met while expanding, as the summary counts them: every shard sees the same
   * ones, so only shard 0 counts them and merged summaries add up.
   */
  skippedFiles: number;
  /** "shard 3/16: …" (null without --shard). */
  note: string | null;
}

export interface PlanDeps {
  stdin: NodeJS.ReadableStream;
  cwd?: string;
  /** Injectable for tests; the real one walks folders, globs, manifests and prefixes. */
  expand?: (inputs: string[], opts: ExpandOptions) => Promise<ExpandedInputs>;
  /** The folder shards are keyed by (inputs/shard-root.ts). */
  root?: (inputs: readonly string[], cwd: string) => Promise<string>;
}

type PlanConfig = Pick<RunConfig, 'inputs' | 'recursive' | 'pathColumn' | 'shard'>;

export async function planInputs(cfg: PlanConfig, deps: PlanDeps): Promise<InputPlan> {
  const expand = deps.expand ?? expandInputs;
  const cwd = deps.cwd ?? process.cwd();
  const expanded = await expand(cfg.inputs, { recursive: cfg.recursive, pathColumn: cfg.pathColumn, stdin: deps.stdin });
  // Sharding happens on the full, de-duplicated list, so every worker sees the same split.
  if (!cfg.shard) return { all: expanded.jobs, jobs: expanded.jobs, skippedFiles: expanded.skipped, note: null };
  const jobs = selectShard(expanded.jobs, cfg.shard, await (deps.root ?? shardRoot)(cfg.inputs, cwd));
  return {
    all: expanded.jobs,
    jobs,
    skippedFiles: cfg.shard.index > 0 ? 0 : expanded.skipped,
    note: describeShard(cfg.shard, jobs.length, expanded.jobs.length),
  };
}

export interface WorkPlan extends ResumePlan {
  /** "resuming …" (null when nothing was resumed). */
  note: string | null;
}

type WorkConfig = Pick<RunConfig, 'out' | 'format' | 'resume' | 'retryFailed' | 'overwrite' | 'force'>;

/**
 * The resume skip-set: of this shard's jobs, what an earlier run of the same identity already
 * wrote is skipped. Needs the output lock held (it may cut a torn last record off the output).
 */
export async function planWork(cfg: WorkConfig, inputs: InputPlan, provenance: Provenance, warn: (line: string) => void): Promise<WorkPlan> {
  const resume = await planResume(cfg, inputs.jobs, { provenance, force: cfg.force, warn });
  return { ...resume, note: describeResume(cfg, resume, inputs.jobs.length) };
}
