// --resume: continue an earlier run into the same output file. The file is the only state: it is
// read back, a torn last record (hard kill mid-write) is cut off, and the inputs it already
// records are skipped; the rest is appended.
//
// The file may hold several records for one path (a failure, then its retry with
// --retry-failed): the LAST record for a path is that image's final state. `merge` and any other
// reader must apply the same rule.
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, open, realpath, rename, stat, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RunConfig } from '../config.js';
import { UsageError } from '../config.js';
import { formatHeaderLine, mixHeaders, type Provenance, type ResultsHeader } from '../outputs/provenance.js';
import { identifyResultsFile, readCsvResults, readJsonlResults, scanResults } from '../outputs/read-results.js';
import type { ScanSummary, StoredResult } from '../outputs/read-results.js';
import type { ErrorCode, ImageJob } from '../types.js';
import { checkSameRun } from './run-identity.js';

/**
 * Failure codes that say nothing about the image itself (the model or worker broke), so resume
 * retries them without being asked.
 */
export const ALWAYS_RETRIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['INFERENCE_FAILED']);

export interface ResumePlan {
  /** The jobs still to do, in input order (all of them without --resume). */
  jobs: ImageJob[];
  /** Inputs skipped because the output records them as done. */
  skippedOk: number;
  /** Inputs skipped because the output records them as failed (kept: no --retry-failed). */
  skippedFailed: number;
  /** Inputs recorded as failed that are being tried again. */
  retried: number;
  /** Bytes cut off the end of the output: a torn record; 0 when the file ended cleanly. */
  repairedBytes: number;
}

type ResumeConfig = Pick<RunConfig, 'out' | 'format' | 'resume' | 'retryFailed' | 'overwrite'>;

/** This run's identity, checked against the output's header before anything is appended. */
export interface ResumeIdentity {
  provenance: Provenance;
  /** --force: mix anyway (the header then records both runs). */
  force: boolean;
  /** Where the loud --force warnings go (one line each). */
  warn: (line: string) => void;
}

/** Flag combinations that cannot mean anything; checked before any work starts. */
export function checkResumeFlags(cfg: ResumeConfig): void {
  if (cfg.retryFailed && !cfg.resume) throw new UsageError('--retry-failed only applies with --resume');
  if (!cfg.resume) return;
  if (cfg.overwrite) throw new UsageError('--resume and --overwrite contradict each other: --resume keeps the output, --overwrite replaces it');
  if (cfg.out === '-') throw new UsageError('--resume needs an output file to continue, not stdout (--out -)');
}

/** What each recorded path ended as: null for success, the error code for a failure. */
export type RecordedState = Map<string, ErrorCode | null>;

/** Reads a results file into path → final state (the last record for a path wins). */
export async function readRecordedState(file: string, format: RunConfig['format']): Promise<RecordedState> {
  const state: RecordedState = new Map();
  const records: AsyncIterable<StoredResult> = format === 'csv' ? readCsvResults(file) : readJsonlResults(file);
  for await (const r of records) state.set(normalisePath(r.path), r.error ? r.error.code : null);
  return state;
}

/** Splits `jobs` into what is still to do and what `state` already records. */
export function selectRemaining(jobs: readonly ImageJob[], state: RecordedState, retryFailed: boolean): Omit<ResumePlan, 'repairedBytes'> {
  const remaining: ImageJob[] = [];
  let skippedOk = 0;
  let skippedFailed = 0;
  let retried = 0;
  for (const job of jobs) {
    const recorded = state.get(job.path);
    if (recorded === undefined) remaining.push(job);
    else if (recorded === null) skippedOk++;
    else if (retryFailed || ALWAYS_RETRIED.has(recorded)) {
      retried++;
      remaining.push(job);
    } else skippedFailed++;
  }
  return { jobs: remaining, skippedOk, skippedFailed, retried };
}

/**
 * Prepares the output for appending (cutting a torn tail) and returns the jobs still to do.
 * Without --resume, or when the output is missing or empty, every job is still to do. Anything
 * that is not recognisably a yolo-serve results file of this format — or, given `identity`, was
 * written by a different run — is refused (UsageError) and left untouched.
 */
export async function planResume(cfg: ResumeConfig, jobs: ImageJob[], identity?: ResumeIdentity): Promise<ResumePlan> {
  checkResumeFlags(cfg);
  const none: ResumePlan = { jobs, skippedOk: 0, skippedFailed: 0, retried: 0, repairedBytes: 0 };
  if (!cfg.resume) return none;
  // Only a regular file can hold earlier results (reading /dev/full or a FIFO would never end).
  const st = await stat(cfg.out).catch(() => null);
  if (!st || !st.isFile() || st.size === 0) return none;

  const refuse = (why: string): never => {
    throw new UsageError(`cannot resume from ${cfg.out}: ${why}; the file was left untouched (--overwrite replaces it, or choose another --out)`);
  };
  const id = await identifyResultsFile(cfg.out);
  if (id.kind === 'foreign') refuse(`not a yolo-serve results file (${id.reason})`);
  if (id.kind === 'legacy') refuse('it has no provenance header (written before yolo-serve put one in every results file, or not by yolo-serve), so what produced it cannot be checked');
  if (id.kind !== 'results') return none;
  if (id.format !== cfg.format) refuse(`it is a ${id.format} results file and this run writes ${cfg.format}`);

  let diffs: string[] = [];
  if (identity) {
    diffs = checkSameRun(cfg.out, id.header, identity.provenance, identity.force);
    for (const d of diffs) identity.warn(`WARNING: --force: mixing runs in ${cfg.out}: ${d}`);
    if (id.header.mixed.length > 0) identity.warn(`warning: ${cfg.out} already mixes the results of ${id.header.mixed.length + 1} different runs (see its first line)`);
  }

  let state: RecordedState;
  let tail;
  try {
    state = await readRecordedState(cfg.out, cfg.format);
    // JSONL ends where its last line ending is; finding it needs no second parse of the file.
    tail = cfg.format === 'jsonl' ? await jsonlTail(cfg.out, st.size) : await scanResults(cfg.out, cfg.format);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    refuse(`${reason} (is it a ${cfg.format} output of yolo-serve?)`);
    throw err; // unreachable: refuse() throws
  }
  const validBytes = Math.max(tail.validBytes, id.headerBytes);
  const repairedBytes = st.size - validBytes;
  if (identity && diffs.length > 0) {
    // The header must say the file now mixes two runs: rewrite it (and drop any torn tail).
    await rewriteHeader(cfg.out, id.headerBytes, validBytes, mixHeaders(id.header, identity.provenance), cfg.format);
  } else if (repairedBytes > 0) {
    await truncate(cfg.out, validBytes);
  }
  return { ...selectRemaining(jobs, state, cfg.retryFailed), repairedBytes };
}

/** Replaces the first `headerBytes` of `file` with `header`, keeping bytes up to `validBytes`; atomic (temp + rename). */
async function rewriteHeader(file: string, headerBytes: number, validBytes: number, header: ResultsHeader, format: RunConfig['format']): Promise<void> {
  const real = await realpath(file);
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.resume-${process.pid}.tmp`);
  try {
    const out = createWriteStream(tmp);
    out.write(formatHeaderLine(header, format));
    if (validBytes > headerBytes) await pipeline(createReadStream(real, { start: headerBytes, end: validBytes - 1 }), out);
    else await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await chmod(tmp, (await stat(real)).mode & 0o7777);
    await rename(tmp, real);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** The one line telling the user what resume found; null when there is nothing to say. */
export function describeResume(cfg: Pick<RunConfig, 'out' | 'resume'>, plan: ResumePlan, total: number): string | null {
  if (!cfg.resume) return null;
  const parts: string[] = [];
  if (plan.repairedBytes > 0) parts.push(`cut a torn last record (${plan.repairedBytes} bytes) from ${cfg.out}`);
  const failed = plan.skippedFailed + plan.retried;
  const recorded = plan.skippedOk + failed;
  if (recorded === 0) {
    parts.push(`nothing recorded yet in ${cfg.out}; processing all ${total} images`);
  } else {
    let s = `${recorded} of ${total} images already in ${cfg.out} (${plan.skippedOk} ok, ${failed} failed)`;
    if (plan.retried > 0) s += `, retrying ${plan.retried} failed`;
    s += `; ${plan.jobs.length} to do`;
    parts.push(s);
  }
  return `resume: ${parts.join('; ')}`;
}

/** Where the complete lines of a JSONL file end (what scanResults reports), read from the end. */
export async function jsonlTail(file: string, size: number): Promise<Pick<ScanSummary, 'tornTail' | 'validBytes'>> {
  const fh = await open(file, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await fh.read(chunk, 0, end - start, start);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) return { validBytes: start + nl + 1, tornTail: start + nl + 1 < size };
      end = start;
    }
    return { validBytes: 0, tornTail: size > 0 };
  } finally {
    await fh.close();
  }
}

/** Records hold the absolute, normalised paths input expansion produces; others are made so. */
function normalisePath(p: string): string {
  return path.isAbsolute(p) ? path.normalize(p) : path.resolve(p);
}
