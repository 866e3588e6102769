// `yolo-serve report` and `batch --report`: read results files once, streaming (JSONL or CSV,
// a run's output or merged shard outputs), optionally with run summaries, and write one
// self-contained HTML page.
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../config.js';
import { detectPartFormat } from '../merge/part-reader.js';
import type { RunSummary } from '../metrics/summary.js';
import { writeFileAtomic } from '../metrics/summary-file.js';
import { toolVersions } from '../metrics/versions.js';
import { readCsvResults, readJsonlResults } from '../outputs/read-results.js';
import { COLLECT_DEFAULTS, ReportCollector, type CollectOptions, type ReportData } from './collect.js';
import { renderReportHtml } from './html.js';
import { THUMB_DEFAULTS, makeThumbnails, type ThumbOptions } from './thumbs.js';

export interface ReportRequest {
  results: string[];
  /** Summary already in memory (batch --report), or null. */
  summary: RunSummary | null;
  summarySources: string[];
  html: string;
  collect?: Partial<CollectOptions>;
  thumbs?: Partial<ThumbOptions>;
  /** Fixed time for reproducible output (tests); default now. */
  now?: Date;
}

export interface ReportOutcome {
  data: ReportData;
  bytes: number;
  /** Thumbnails embedded / gallery images. */
  embedded: number;
  galleryImages: number;
}

/** Fails before any reading when the page could not be written at the end. */
export async function checkReportTarget(html: string, others: readonly string[] = []): Promise<void> {
  const st = await stat(html).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`--html ${html} is a directory; give a file path`);
  if (others.some((o) => o !== '-' && resolve(o) === resolve(html))) throw new UsageError(`the report ${html} would overwrite an input or output of the run`);
  const dir = dirname(resolve(html));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write report ${html}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
}

/** Streams every results file into the collector (files in the order given). */
export async function collectResults(files: readonly string[], opts: CollectOptions): Promise<ReportData> {
  const collector = new ReportCollector(opts);
  for (const file of files) {
    let format;
    try {
      format = await detectPartFormat(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(e.code === 'ENOENT' ? `results file ${file} not found` : e.code ? `cannot read results file ${file}: ${e.code}` : e.message);
    }
    if (format === null) continue; // an empty file holds no records
    try {
      for await (const r of format === 'csv' ? readCsvResults(file) : readJsonlResults(file)) collector.add(r);
    } catch (err) {
      throw new UsageError(`cannot read results file ${file}: ${(err as Error).message}`);
    }
  }
  return collector.result();
}

export async function writeReport(req: ReportRequest): Promise<ReportOutcome> {
  const collectOpts = { ...COLLECT_DEFAULTS, ...req.collect };
  const data = await collectResults(req.results, collectOpts);
  const g = data.gallery;
  const items = [...g.most, ...g.lowest, ...g.random];
  const thumbs = await makeThumbnails(items, { ...THUMB_DEFAULTS, ...req.thumbs });
  const html = renderReportHtml({
    data,
    summary: req.summary,
    sources: req.results,
    summarySources: req.summarySources,
    generatedAt: req.now ?? new Date(),
    thumbs,
    seed: collectOpts.seed,
    toolVersion: toolVersions().yolo_serve,
  });
  await writeFileAtomic(req.html, html);
  return { data, bytes: Buffer.byteLength(html), embedded: [...thumbs.values()].filter((t) => t.ok).length, galleryImages: thumbs.size };
}
