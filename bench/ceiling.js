// The pipeline ceiling: how fast yolo-serve goes when the model costs (almost) nothing, against
// the fastest anyone could go — plain sharp decoding of the same files and nothing else. With a
// real model on a CPU the model hides the pipeline; on a GPU, or with a small model, this ratio
// is the throughput. Target ≥ 0.5 (issue 11; moonshot 0.7).
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { measureServe } from './serve.js';
import { writeSyntheticDetector } from './synthetic.js';
import { cpuSecondsSince, linkFolder, removeDir } from './util.js';

/**
 * Plain decode: read + sharp(buf).raw().toBuffer(), `inFlight` at a time, one libvips thread each
 * (the fastest way to decode many small images), over `files` in turn until `seconds` have passed.
 */
export async function measureDecodeOnly({ files, seconds, inFlight = Math.max(2, availableParallelism()) }) {
  sharp.cache(false);
  const before = sharp.concurrency();
  sharp.concurrency(1);
  try {
    let next = 0;
    let done = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const lane = async () => {
      while (performance.now() < end) {
        const buf = await readFile(files[next++ % files.length]);
        await sharp(buf).raw().toBuffer();
        done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const wallS = (performance.now() - t0) / 1000;
    return { ips: done / wallS, cpuMsPerImage: (1000 * cpuSecondsSince(cpu0)) / done, images: done, inFlight };
  } finally {
    sharp.concurrency(before);
  }
}

/**
 * One round: decode-only, then yolo-serve on the synthetic model over a link folder big enough
 * for about `seconds` at half the decode rate.
 * @returns {Promise<{decode, serve, ratio, count}>}
 */
export async function measureCeiling({ images, seconds, work, log, extraArgs = [] }) {
  const model = writeSyntheticDetector(work);
  const decode = await measureDecodeOnly({ files: images, seconds });
  log(`decode only (sharp, ${decode.inFlight} in flight): ${decode.ips.toFixed(1)} images/s, ${decode.cpuMsPerImage.toFixed(2)} CPU ms/image`);
  const count = Math.max(images.length, Math.ceil((decode.ips * seconds) / 2 / images.length) * images.length);
  const dir = linkFolder(images, count, 'ceiling');
  try {
    const serve = await measureServe({ args: [dir, '--model', model, ...extraArgs], out: path.join(work, 'ceiling.jsonl'), expected: count });
    log(`yolo-serve, synthetic [1,84,8400] model: ${serve.ips.toFixed(1)} images/s over ${count} images, ${serve.cpuMsPerImage.toFixed(2)} CPU ms/image`);
    log(`  ${serve.summary}`);
    return { decode, serve, ratio: serve.ips / decode.ips, count };
  } finally {
    removeDir(dir);
  }
}
