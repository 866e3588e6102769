// `yolo-serve merge OUT PARTS...`: joins the outputs of a sharded run into one results file,
// ordered by path (UTF-8 byte order), and checks it: the same image in two parts, or twice in one,
// and — given the original inputs — images no part has and images the inputs do not list.
//
// Memory: the parts are scanned once for each record's path and byte span (about 100 bytes plus
// the path per image, ~200 MB per million images — the same order as `batch` needs for its input
// list); records are then re-read one at a time, in path order, from their spans. Detections are
// never all in memory, and nothing is written to temporary space except the output itself, which
// goes to a temporary name beside OUT and is renamed into place when complete.
import { closeSync, openSync } from 'node:fs';
import { access, constants, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { DEFAULTS, UsageError, parseFormat } from '../config.js';
import { expandInputs } from '../inputs/expand.js';
import { formatCsvRows } from '../outputs/csv.js';
import type { TaskField } from '../types.js';
import { formatJsonlLine } from '../outputs/jsonl.js';
import { combineHeaders, describeDifferences, diffProvenance, type ResultsHeader } from '../outputs/provenance.js';
import type { StoredResult } from '../outputs/read-results.js';
import { formatFromPath, isOutputClosed, openSink, type ResultFormat } from '../outputs/sink.js';
import { PartError, identifyPart, readRecord, scanPart, type PartTail } from '../merge/part-reader.js';
import { resolveOutputPath } from '../reliability/output-target.js';
import { comparePaths, pathGroups, pathOrder, resolveGroup } from '../merge/plan.js';
import { mergeSummaryFiles } from './merge-summaries.js';
import { EXIT_OK, EXIT_OUTPUT_CLOSED, EXIT_SOME_FAILED, exitCodesHelp, type ExitCode } from '../exit-codes.js';

export const MERGE_OK = EXIT_OK;
/** Conflicting duplicates, images missing from every part, or a part cut short. */
export const MERGE_PROBLEMS = EXIT_SOME_FAILED;

export interface MergeOptions {
  out: string;
  parts: string[];
  /** Output format; null: from OUT's extension, else the parts' format. */
  format: ResultFormat | null;
  overwrite: boolean;
  /** Merge parts written by different runs (models, options) anyway; said loudly. */
  force: boolean;
  /** The inputs the shards were run on (batch syntax); null: no missing/extra check. */
  inputs: string[] | null;
  recursive: boolean;
  pathColumn: string;
  /** Write the missing images here, one path per line. */
  missingOut: string | null;
  summaries: string[] | null;
  summaryOut: string | null;
  quiet: boolean;
  verbose: boolean;
}

export interface MergeIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  stderr: NodeJS.WritableStream;
}

export interface Conflict {
  path: string;
  /** The parts whose records for this path differ; the first one's record was written. */
  parts: string[];
}

export interface MergeReport {
  /** Images written. */
  images: number;
  format: ResultFormat;
  /** Identical extra records dropped (within one part or across parts). */
  repeats: number;
  /** Older records replaced by a later one in the same part. */
  superseded: number;
  conflicts: Conflict[];
  /** Parts that end in an incomplete record. */
  tornParts: string[];
  /** With --inputs: input images in no part, and images in the parts but not in the inputs. */
  missing: string[];
  extra: string[];
}

export interface MergeOutcome {
  exitCode: ExitCode;
  report: MergeReport;
}

/** Listed one by one on stderr up to this many (all with --verbose). */
const LIST_LIMIT = 10;

export async function runMerge(opts: MergeOptions, io: MergeIo): Promise<MergeOutcome> {
  const say = (line: string) => {
    if (!opts.quiet) io.stderr.write(`${line}\n`);
  };
  const shout = (line: string) => io.stderr.write(`${line}\n`);

  await checkFlags(opts);
  const { format: partFormat, header } = await partsIdentity(opts.parts, opts.force, shout);
  const format = opts.format ?? (opts.out === '-' ? null : formatFromPath(opts.out)) ?? partFormat ?? 'jsonl';
  // Summaries first: they are small, and a failure there should cost no merged output.
  if (opts.summaries) await mergeSummaryFiles(opts.summaries, opts.summaryOut!);

  // Pass 1: every record's path and span.
  const paths: string[] = [];
  const partOf: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const tornParts: string[] = [];
  // CSV parts of a task carry its columns; all parts must carry the same ones.
  const partColumns: TaskField[][] = [];
  let taskColumns: TaskField[] | null = null;
  for (const [p, file] of opts.parts.entries()) {
    if (!partFormat) continue; // every part is empty
    const tail: PartTail = { tornTail: false };
    try {
      for await (const span of scanPart(file, partFormat, tail)) {
        paths.push(span.path);
        partOf.push(p);
        starts.push(span.start);
        ends.push(span.end);
      }
    } catch (err) {
      throw asUsage(err);
    }
    if (tail.tornTail) tornParts.push(file);
    partColumns[p] = tail.taskColumns ?? [];
    if (partFormat === 'csv' && paths.length > 0 && tail.taskColumns !== undefined) {
      if (taskColumns !== null && taskColumns.join(',') !== tail.taskColumns.join(',')) {
        throw new UsageError(`parts have different CSV columns (${file}: ${tail.taskColumns.join(',') || 'none'} besides the box columns, an earlier part: ${taskColumns.join(',') || 'none'}); they come from models of different tasks`);
      }
      taskColumns ??= tail.taskColumns;
    }
  }

  const expected = opts.inputs ? await expectedPaths(opts, io) : null;

  // Pass 2: in path order, settle duplicates and write.
  const report: MergeReport = { images: 0, format, repeats: 0, superseded: 0, conflicts: [], tornParts, missing: [], extra: [] };
  const fds = opts.parts.map((file) => openSync(file, 'r'));
  // Written beside the file OUT names (through a symlink: beside its target, which is replaced).
  const real = opts.out === '-' ? '-' : await resolveOutputPath(opts.out);
  const target = real === '-' ? '-' : tempNameFor(real);
  let written = false;
  try {
    const sink = await openSink(target, format, { stdout: io.stdout, header, taskColumns: taskColumns ?? [] });
    try {
      const read = (e: number): StoredResult => {
        try {
          return readRecord(fds[partOf[e]!]!, partFormat!, { start: starts[e]!, end: ends[e]! }, `${opts.parts[partOf[e]!]} at byte ${starts[e]}`, partColumns[partOf[e]!]);
        } catch (err) {
          throw asUsage(err);
        }
      };
      // Records compare as the part format serialises them: equal bytes, equal results.
      const canonical = partFormat === 'csv' ? (r: StoredResult) => formatCsvRows({ index: 0, ...r }, taskColumns ?? []) : (r: StoredResult) => formatJsonlLine({ index: 0, ...r });
      const order = pathOrder(paths);
      for (const [from, to] of pathGroups(paths, order)) {
        const entries = Array.from(order.subarray(from, to));
        const texts = new Map<number, string>();
        const text = (e: number) => texts.get(e) ?? texts.set(e, canonical(read(e))).get(e)!;
        const res = resolveGroup(entries, (e) => partOf[e]!, (a, b) => text(a) === text(b));
        report.repeats += res.repeats + res.crossRepeats;
        report.superseded += res.superseded;
        const file = paths[res.keep]!;
        if (res.conflictParts.length > 0) {
          report.conflicts.push({ path: file, parts: [partOf[res.keep]!, ...res.conflictParts].map((p) => opts.parts[p]!) });
        }
        if (expected) {
          if (expected.has(file)) expected.delete(file);
          else report.extra.push(file);
        }
        await sink.write({ index: report.images++, ...read(res.keep) });
      }
    } finally {
      await sink.close().catch((err: unknown) => {
        if (!isOutputClosed(err)) throw err;
      });
    }
    if (target !== '-') await rename(target, real);
    written = true;
  } catch (err) {
    // `merge ... - | head`: the reader has what it wanted; stop quietly, as batch does.
    if (target === '-' && isOutputClosed(err)) return { exitCode: EXIT_OUTPUT_CLOSED, report };
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
    if (!written && target !== '-') await unlink(target).catch(() => undefined);
  }

  if (expected) report.missing = [...expected].sort(comparePaths);
  if (opts.missingOut) await writeFile(opts.missingOut, report.missing.map((p) => `${p}\n`).join(''));

  for (const file of tornParts) shout(`yolo-serve merge: ${file} ends in an incomplete record (was its run interrupted?); that record was skipped`);
  if (report.conflicts.length > 0) {
    shout(`yolo-serve merge: ${report.conflicts.length} ${plural(report.conflicts.length, 'image has', 'images have')} different results in different parts (the first part's record was kept):`);
    listItems(shout, report.conflicts.map((c) => `${c.path}  (${c.parts.join(', ')})`), opts.verbose);
  }
  if (report.missing.length > 0) {
    shout(`yolo-serve merge: ${report.missing.length} input ${plural(report.missing.length, 'image is', 'images are')} in no part${opts.missingOut ? ` (listed in ${opts.missingOut})` : ''}:`);
    listItems(shout, report.missing, opts.verbose);
  }
  if (report.extra.length > 0) {
    say(`yolo-serve merge: warning: ${report.extra.length} ${plural(report.extra.length, 'image', 'images')} in the parts ${plural(report.extra.length, 'is', 'are')} not in --inputs (kept):`);
    if (!opts.quiet) listItems(say, report.extra, opts.verbose);
  }
  if (report.repeats > 0) {
    say(`yolo-serve merge: warning: ${report.repeats} duplicate ${plural(report.repeats, 'record', 'records')} (identical to one kept) dropped — do shards overlap?`);
  }
  const notes = [
    report.superseded > 0 ? `${report.superseded} superseded by a later record in the same part` : '',
    opts.inputs ? `${report.missing.length} missing` : '',
  ].filter(Boolean);
  say(
    `yolo-serve merge: ${report.images} images from ${opts.parts.length} ${plural(opts.parts.length, 'part', 'parts')} → ${opts.out === '-' ? 'stdout' : opts.out} (${format})` +
      (notes.length ? `, ${notes.join(', ')}` : ''),
  );
  const problems = report.conflicts.length > 0 || report.missing.length > 0 || tornParts.length > 0;
  return { exitCode: problems ? MERGE_PROBLEMS : MERGE_OK, report };
}

async function checkFlags(opts: MergeOptions): Promise<void> {
  if (opts.parts.length === 0) throw new UsageError('merge needs at least one part');
  if (opts.missingOut && !opts.inputs) throw new UsageError('--missing-out needs --inputs (the images the parts should cover)');
  if ((opts.summaries === null) !== (opts.summaryOut === null)) {
    throw new UsageError('--summaries and --summary-out go together: the shard summaries to merge, and where the merged one goes');
  }
  if (opts.out === '-' && opts.summaryOut === '-') throw new UsageError('OUT - and --summary-out - would both write to stdout; give one of them a file');
  for (const file of opts.parts) {
    if (file === '-') throw new UsageError('parts must be files (merge reads them twice), not -');
    const st = await stat(file).catch(() => null);
    if (!st) throw new UsageError(`part not found: ${file}`);
    if (!st.isFile()) throw new UsageError(`part is not a file: ${file}`);
  }
  if (opts.out === '-') return;
  const st = await stat(opts.out).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`output ${opts.out} is a directory; give a file path`);
  if (st && !opts.overwrite) throw new UsageError(`output ${opts.out} already exists; pass --overwrite to replace it`);
  const dir = path.dirname(path.resolve(opts.out));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write output ${opts.out}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
}

/**
 * The one format all parts share (null when all are empty; mixed formats are refused) and the
 * merged output's header. Every non-empty part must carry a provenance header, and all must say
 * the same run produced them; with `force`, differences are announced and the merged header
 * records every run mixed in.
 */
async function partsIdentity(parts: readonly string[], force: boolean, shout: (line: string) => void): Promise<{ format: ResultFormat | null; header: ResultsHeader | null }> {
  let found: { format: ResultFormat; file: string } | null = null;
  const headers: { file: string; header: ResultsHeader }[] = [];
  for (const file of parts) {
    let id;
    try {
      id = await identifyPart(file);
    } catch (err) {
      throw asUsage(err);
    }
    if (!id.format) continue;
    // Duplicate detection compares records as their format stores them; a JSONL and a CSV record
    // of the same result can differ (CSV keeps no size for failed images), so formats are not mixed.
    if (found && found.format !== id.format) {
      throw new UsageError(`parts mix formats (${found.file} is ${found.format}, ${file} is ${id.format}); merge each format separately`);
    }
    found ??= { format: id.format, file };
    if (!id.header) {
      throw new UsageError(`cannot merge: ${file} has no provenance header (written before yolo-serve put one in every results file, or not by yolo-serve), so what produced it cannot be checked`);
    }
    headers.push({ file, header: id.header });
  }
  const problems: string[] = [];
  const first = headers[0];
  for (const { file, header } of headers) {
    if (header.mixed.length > 0) problems.push(`${file} already mixes the results of ${header.mixed.length + 1} runs (see its first line)`);
    if (first && file !== first.file) problems.push(...describeDifferences(diffProvenance(first.header.provenance, header.provenance), first.file, file));
  }
  if (problems.length > 0 && !force) {
    throw new UsageError(
      ['cannot merge: the parts were written by different runs, and one file must not mix results:', ...problems.map((p) => `  ${p}`),
        'merge only parts of one run, or pass --force to mix them anyway'].join('\n'),
    );
  }
  for (const p of problems) shout(`yolo-serve merge: WARNING: --force: mixing runs: ${p}`);
  return { format: found?.format ?? null, header: combineHeaders(headers.map((h) => h.header)) };
}

async function expectedPaths(opts: MergeOptions, io: MergeIo): Promise<Set<string>> {
  const expanded = await expandInputs(opts.inputs!, { recursive: opts.recursive, pathColumn: opts.pathColumn, stdin: io.stdin });
  return new Set(expanded.jobs.map((j) => j.path));
}

function tempNameFor(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.merge-${process.pid}.tmp`);
}

function asUsage(err: unknown): unknown {
  return err instanceof PartError ? new UsageError(`cannot merge: ${err.message}`) : err;
}

function listItems(write: (line: string) => void, items: readonly string[], all: boolean): void {
  const shown = all ? items : items.slice(0, LIST_LIMIT);
  for (const item of shown) write(`  ${item}`);
  if (shown.length < items.length) write(`  … and ${items.length - shown.length} more (--verbose lists all)`);
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

interface MergeFlags {
  inputs?: string[];
  format?: string;
  overwrite?: boolean;
  force?: boolean;
  missingOut?: string;
  recursive: boolean;
  pathColumn: string;
  summaries?: string[];
  summaryOut?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function toMergeOptions(out: string, parts: string[], f: MergeFlags): MergeOptions {
  return {
    out,
    parts,
    format: f.format ? parseFormat(f.format) : null,
    overwrite: Boolean(f.overwrite),
    force: Boolean(f.force),
    inputs: f.inputs ?? null,
    recursive: f.recursive,
    pathColumn: f.pathColumn,
    missingOut: f.missingOut ?? null,
    summaries: f.summaries ?? null,
    summaryOut: f.summaryOut ?? null,
    quiet: Boolean(f.quiet),
    verbose: Boolean(f.verbose),
  };
}

export function registerMergeCommand(program: Command, onExit: (code: ExitCode) => void): void {
  program
    .command('merge')
    .description('merge the outputs of sharded batch runs into one results file, ordered by path')
    .argument('<out>', 'merged results file (.jsonl or .csv), or - for stdout')
    .argument('<parts...>', 'shard outputs, all JSONL or all CSV')
    .option('--inputs <inputs...>', 'the inputs the shards ran on (as given to batch): report images in no part, and images not in the inputs')
    .option('--missing-out <file>', 'with --inputs, write the missing images one per line (a manifest for a follow-up batch run)')
    .addOption(new Option('--format <format>', 'output format (default: from OUT extension, else the parts\' format)').choices(['jsonl', 'csv']))
    .option('--overwrite', 'replace an existing output file')
    .option('--force', 'merge parts written by different models or options anyway (mixes results; said loudly)')
    .option('--no-recursive', 'with --inputs: do not descend into subdirectories (as for batch)')
    .option('--path-column <name>', 'with --inputs: column holding the image path in .csv manifests', DEFAULTS.pathColumn)
    .option('--summaries <files...>', 'shard run summaries (batch --summary) to merge into --summary-out')
    .option('--summary-out <file>', 'where the merged summary goes')
    .option('-q, --quiet', 'print only errors')
    .option('-v, --verbose', 'list every conflicting, missing and extra image')
    .addHelpText(
      'after',
      `
Put --inputs (and --summaries) after the parts, or end their lists with --.

Examples:
  $ yolo-serve merge results.jsonl parts/part-*.jsonl
  $ yolo-serve merge results.csv parts/*.csv --inputs /data/images --missing-out missing.txt

Duplicates: within one part the last record for an image wins (resume appends retries); the same
record in two parts is kept once with a warning; different records in two parts are a conflict.

Every part must start with its provenance header, and all must come from one run (same model
digest, options and yolo-serve version): otherwise exit 2 naming each difference (--force mixes).

${exitCodesHelp('merge')}`,
    )
    .action(async (out: string, parts: string[], flags: MergeFlags) => {
      const { exitCode } = await runMerge(toMergeOptions(out, parts, flags), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
      onExit(exitCode);
    });
}
