// `yolo-serve export RESULTS --to coco|coco-dataset|yolo|voc --out PATH`: results in the formats
// annotation tools and evaluators read. The export modules load only when the command runs.
import { type Command, Option } from 'commander';
import { EXIT_OK, exitCodesHelp, type ExitCode } from '../exit-codes.js';

interface ExportFlags {
  to: 'coco' | 'coco-dataset' | 'yolo' | 'voc';
  out: string;
  gt?: string;
  withConf?: boolean;
  overwrite?: boolean;
  quiet?: boolean;
}

export async function runExportCommand(results: string, flags: ExportFlags, io: { stderr: NodeJS.WritableStream }): Promise<ExitCode> {
  const { exportResults } = await import('../exports/export.js');
  const r = await exportResults({ results, to: flags.to, out: flags.out, gt: flags.gt ?? null, withConf: Boolean(flags.withConf), overwrite: Boolean(flags.overwrite) });
  if (!flags.quiet) {
    io.stderr.write(`yolo-serve: exported ${r.images} images, ${r.detections} detections as ${r.format} to ${r.out} (${r.files} file${r.files === 1 ? '' : 's'})\n`);
    for (const n of r.notes) io.stderr.write(`  note: ${n}\n`);
  }
  return EXIT_OK;
}

export function registerExportCommand(program: Command, onExit: (code: ExitCode) => void): void {
  program
    .command('export')
    .description('write a results file as COCO JSON, YOLO txt labels or Pascal VOC XML')
    .argument('<results>', 'results file from batch or merge (.jsonl or .csv)')
    .addOption(new Option('--to <format>', 'coco (results JSON), coco-dataset (full dataset JSON), yolo (txt labels), voc (XML)').choices(['coco', 'coco-dataset', 'yolo', 'voc']).makeOptionMandatory())
    .requiredOption('-o, --out <path>', 'output file (coco, coco-dataset) or folder (yolo, voc)')
    .option('--gt <instances.json>', 'COCO ground truth: take image ids (by file name) and category ids (by name) from it')
    .option('--with-conf', 'yolo: append the confidence to each line (Ultralytics save_conf)')
    .option('--overwrite', 'replace an existing output file, or write over the labels in an existing folder')
    .option('-q, --quiet', 'print only errors')
    .addHelpText(
      'after',
      `
Examples:
  $ yolo-serve export results.jsonl --to coco --out detections.json --gt instances_val2017.json
  $ yolo-serve export results.jsonl --to coco-dataset --out autolabels.json
  $ yolo-serve export results.jsonl --to yolo --out labels/ --with-conf
  $ yolo-serve export results.csv --to voc --out Annotations/

Failed images are left out. yolo writes no file for an image without detections (as
Ultralytics' save_txt); voc writes one per image.

${exitCodesHelp('export')}`,
    )
    .action(async (results: string, flags: ExportFlags) => {
      onExit(await runExportCommand(results, flags, { stderr: process.stderr }));
    });
}
