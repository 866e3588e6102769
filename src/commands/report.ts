// `yolo-serve report RESULTS... [--summary S...] --html report.html`: the run report as one
// self-contained HTML page. The work is in src/report/; this is flags and messages.
import type { Command } from 'commander';
import { UsageError, parseNumber } from '../config.js';
import { COLLECT_DEFAULTS } from '../report/collect.js';
import { checkReportTarget, writeReport, type ReportOutcome } from '../report/index.js';
import { THUMB_DEFAULTS } from '../report/thumbs.js';
import { readMergedSummary } from './merge-summaries.js';
import { EXIT_OK, exitCodesHelp, type ExitCode } from '../exit-codes.js';

interface ReportFlags {
  summary?: string[];
  html?: string;
  gallery: string;
  seed: string;
  thumbSize: string;
  maxEmbedMb: string;
  quiet?: boolean;
}

export function describeReport(path: string, o: ReportOutcome): string {
  const mb = (o.bytes / 1e6).toFixed(o.bytes < 1e6 ? 2 : 1);
  return `report: ${path} (${mb} MB): ${o.data.ok + o.data.failed} images (${o.data.failed} failed), ${o.data.detections} detections, ${o.embedded} of ${o.galleryImages} gallery images embedded`;
}

export function registerReportCommand(program: Command, onExit: (code: ExitCode) => void): void {
  program
    .command('report')
    .description('write a self-contained HTML report of a run: counts, classes, confidence, latency, failures and a gallery')
    .argument('<results...>', 'results files (JSONL or CSV, a run\'s --out or merged shard outputs)')
    .option('--summary <files...>', 'run summaries (batch --summary); several are merged, as for shards')
    .option('--html <file>', 'where the report goes')
    .option('--gallery <n>', 'images per gallery section (most detections, lowest confidence, random)', String(COLLECT_DEFAULTS.gallerySize))
    .option('--seed <n>', 'seed of the random gallery section', String(COLLECT_DEFAULTS.seed))
    .option('--thumb-size <px>', 'longest side of gallery thumbnails', String(THUMB_DEFAULTS.maxSide))
    .option('--max-embed-mb <mb>', 'total size of the embedded thumbnails', String(THUMB_DEFAULTS.budgetBytes / 1e6))
    .option('-q, --quiet', 'print only errors')
    .addHelpText(
      'after',
      `
Put --summary after the results files, or end its list with --.

Examples:
  $ yolo-serve report results.jsonl --summary run.json --html report.html
  $ yolo-serve report merged.csv --summary parts/*.json -- --html report.html

The page needs nothing but a browser: CSS, charts (SVG) and thumbnails are inside it, and it
works offline from a file:// URL. Gallery images link to the original files.

${exitCodesHelp('report')}`,
    )
    .action(async (results: string[], flags: ReportFlags) => {
      if (!flags.html) throw new UsageError('no output given: pass --html FILE');
      const opts = {
        gallerySize: parseNumber('--gallery', flags.gallery, { min: 0, max: 200, integer: true }),
        seed: parseNumber('--seed', flags.seed, { integer: true }),
        maxSide: parseNumber('--thumb-size', flags.thumbSize, { min: 32, max: 2048, integer: true }),
        budgetMb: parseNumber('--max-embed-mb', flags.maxEmbedMb, { min: 0 }),
      };
      await checkReportTarget(flags.html, results);
      const summaries = flags.summary ?? [];
      const summary = summaries.length > 0 ? await readMergedSummary(summaries, '--summary') : null;
      const outcome = await writeReport({
        results,
        summary,
        summarySources: summaries,
        html: flags.html,
        collect: { gallerySize: opts.gallerySize, seed: opts.seed },
        thumbs: { maxSide: opts.maxSide, budgetBytes: Math.round(opts.budgetMb * 1e6) },
      });
      if (!flags.quiet) process.stderr.write(`${describeReport(flags.html, outcome)}\n`);
      onExit(EXIT_OK);
    });
}
