// Deterministic sharding: every worker of a fan-out (Kubernetes Indexed Job, CI matrix, AWS Batch
// array) expands the same inputs and keeps only the images whose key hashes to its index. No
// coordination is needed, and an image's shard depends on nothing but its own key and the count,
// so adding files never moves an existing image to another shard.
//
// The key is the image's path RELATIVE to the root of the inputs (see shard-root.ts), with '/'
// separators: pods that mount the same data set at /data and /mnt/data compute the same split,
// and naming the folder as `./images`, `/abs/images` or `'images/**/*.jpg'` does not change it.
//
//   shard = uint64_be(sha1(utf8(key))[0..8]) mod count
//
// (Python: int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], 'big') % count)
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../usage-error.js';
import type { ImageJob } from '../types.js';

export interface Shard {
  /** Zero-based. */
  index: number;
  count: number;
}

/** A shard and where it came from, for the log line ('--shard', 'JOB_COMPLETION_INDEX', ...). */
export interface ResolvedShard extends Shard {
  source: string;
}

/** The hashed key of an absolute path: relative to `root`, '/'-separated. */
export function shardKey(absPath: string, root: string, sep: string = path.sep): string {
  const rel = path.relative(root, absPath);
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** The shard (0 ≤ shard < count) a key belongs to. */
export function shardOf(key: string, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  if (count === 1) return 0;
  const h = createHash('sha1').update(key, 'utf8').digest().readBigUInt64BE(0);
  return Number(h % BigInt(count));
}

/**
 * The jobs of one shard, in their input order, renumbered 0..n-1 (`index` is the position in the
 * list this run processes). An empty result is a valid, empty shard.
 */
export function selectShard(jobs: readonly ImageJob[], shard: Shard, root: string): ImageJob[] {
  const out: ImageJob[] = [];
  for (const job of jobs) {
    if (shardOf(shardKey(job.path, root), shard.count) === shard.index) out.push({ ...job, index: out.length });
  }
  return out;
}

/** Environment variables that carry a worker's index, in the order they are consulted. */
export const SHARD_INDEX_VARS = ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;
export const SHARD_COUNT_VAR = 'YOLO_SERVE_SHARD_COUNT';

const ENGINE: Record<(typeof SHARD_INDEX_VARS)[number], string> = {
  JOB_COMPLETION_INDEX: 'Kubernetes Indexed Job',
  AWS_BATCH_JOB_ARRAY_INDEX: 'AWS Batch array job',
};

/**
 * Which shard this process runs, decided once at start-up:
 *   1. --shard INDEX/COUNT (the environment is then ignored);
 *   2. JOB_COMPLETION_INDEX, then AWS_BATCH_JOB_ARRAY_INDEX, with the count from --shard-count
 *      or YOLO_SERVE_SHARD_COUNT (neither engine tells a worker how many siblings it has);
 *   3. otherwise no sharding (null).
 * A count without any index is an error rather than "no sharding": running every image in each
 * of N workers is the costly way to find out a variable was not passed through.
 */
export function resolveShard(explicit: Shard | null, countFlag: number | null, env: NodeJS.ProcessEnv): ResolvedShard | null {
  if (explicit) {
    if (countFlag !== null && countFlag !== explicit.count) {
      throw new UsageError(`--shard ${explicit.index}/${explicit.count} and --shard-count ${countFlag} disagree; give one`);
    }
    return { ...explicit, source: '--shard' };
  }

  const envCount = nonEmpty(env[SHARD_COUNT_VAR]);
  const count = (): { value: number; from: string } | null => {
    if (countFlag !== null) return { value: countFlag, from: '--shard-count' };
    if (envCount === undefined) return null;
    return { value: parseEnvInt(SHARD_COUNT_VAR, envCount, 1), from: SHARD_COUNT_VAR };
  };

  for (const name of SHARD_INDEX_VARS) {
    const raw = nonEmpty(env[name]);
    if (raw === undefined) continue;
    const index = parseEnvInt(name, raw, 0);
    const c = count();
    if (!c) {
      throw new UsageError(
        `${name} is set (${ENGINE[name]}, index ${index}) but the shard count is not: pass --shard-count N or set ${SHARD_COUNT_VAR}=N (the number of workers)`,
      );
    }
    if (index >= c.value) {
      throw new UsageError(`${name}=${index} is not below the shard count ${c.value} (from ${c.from}); indexes are zero-based`);
    }
    return { index, count: c.value, source: name };
  }

  const c = count();
  if (c) {
    throw new UsageError(
      `${c.from} is set but no shard index is: pass --shard INDEX/${c.value}, or run where ${SHARD_INDEX_VARS.join(' or ')} is set`,
    );
  }
  return null;
}

/** The log line for a sharded run. */
export function describeShard(shard: ResolvedShard, selected: number, total: number): string {
  const from = shard.source === '--shard' ? '' : ` (from ${shard.source})`;
  return `shard ${shard.index}/${shard.count}${from}: ${selected} of ${total} images`;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseEnvInt(name: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${name} must be an integer of at least ${min}, got '${value}'`);
  }
  return Number(value);
}
