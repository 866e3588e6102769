// Result sinks: stream one record per image to a file or stdout, as it arrives, honouring
// backpressure, and never losing a write error.
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { ImageResult } from '../types.js';
import { csvHeaderFor, formatCsvRows } from './csv.js';
import type { TaskField } from '../types.js';
import { open } from 'node:fs/promises';
import { formatJsonlLine } from './jsonl.js';
import { formatHeaderLine, type ResultsHeader } from './provenance.js';

export type ResultFormat = 'jsonl' | 'csv';

export interface ResultSink {
  /** Writes one image's record(s); resolves once the stream can take more. */
  write(r: ImageResult): Promise<void>;
  /** Flushes; closes a file (resolving after its fd is closed), leaves stdout open. */
  close(): Promise<void>;
  readonly format: ResultFormat;
  /**
   * Optional: `listener` is called with each record once its bytes have reached the file or pipe
   * (the OS took them); a record lost to a write error never is. Sinks without it are taken to
   * commit a record when write() resolves.
   */
  setCommitListener?(listener: (r: ImageResult) => void): void;
}

export interface OpenSinkOptions {
  /** Append to an existing file (the header lines are written only if the file is empty). */
  append?: boolean;
  /** The provenance header line that starts a new (or empty) output; absent or null: none. */
  header?: ResultsHeader | null;
  /** The stream '-' means; default process.stdout (injectable for tests). */
  stdout?: Writable;
  /** CSV: the task's columns between y2 and error (tasks/*.ts csvColumns); none for detect. */
  taskColumns?: readonly TaskField[];
}

/** The format a file name implies, or null when the caller must be told explicitly. */
export function formatFromPath(p: string): ResultFormat | null {
  switch (path.extname(p).toLowerCase()) {
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.csv':
      return 'csv';
    default:
      return null;
  }
}

export async function openSink(
  target: string,
  format: ResultFormat,
  opts: OpenSinkOptions = {},
): Promise<ResultSink> {
  const taskColumns = opts.taskColumns ?? [];
  const header = csvHeaderFor(taskColumns);
  const formatter = format === 'csv' ? (r: ImageResult) => formatCsvRows(r, taskColumns) : (r: ImageResult) => formatJsonlLine(r) + '\n';
  // What starts a results file: the provenance header, then (CSV) the column names.
  const lead = (opts.header ? formatHeaderLine(opts.header, format) : '') + (format === 'csv' ? header : '');
  if (target === '-') {
    const sink = new StreamSink(opts.stdout ?? process.stdout, 'stdout', false, format, formatter);
    if (lead) await sink.writeText(lead);
    return sink;
  }

  const append = opts.append ?? false;
  const hasContent = append && (await stat(target).then((s) => s.size > 0).catch(() => false));
  // Rows of another task's columns would not parse under the existing header.
  if (format === 'csv' && hasContent) await checkCsvHeader(target, header);
  const stream = createWriteStream(target, { flags: append ? 'a' : 'w' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(sinkError(target, err)));
  });
  const sink = new StreamSink(stream, target, true, format, formatter);
  if (lead && !hasContent) await sink.writeText(lead);
  return sink;
}

/** True when `err` (or its cause) says the reader of a pipe went away (`| head -1`). */
export function isOutputClosed(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') return true;
  }
  return false;
}

class StreamSink implements ResultSink {
  private failure: Error | null = null;
  private closed = false;
  private onCommit: ((r: ImageResult) => void) | null = null;

  constructor(
    private readonly stream: Writable,
    private readonly label: string,
    private readonly ownsStream: boolean,
    readonly format: ResultFormat,
    private readonly formatter: (r: ImageResult) => string,
  ) {
    // Kept for the sink's lifetime: an error may surface after the write that caused it returned.
    stream.on('error', (err) => {
      this.failure ??= sinkError(label, err);
    });
  }

  setCommitListener(listener: (r: ImageResult) => void): void {
    this.onCommit = listener;
  }

  write(r: ImageResult): Promise<void> {
    // The stream calls back once the OS has the bytes (or with the error that lost them).
    return this.writeText(this.formatter(r), (err) => {
      if (!err) this.onCommit?.(r);
    });
  }

  async writeText(text: string, done?: (err: Error | null | undefined) => void): Promise<void> {
    if (this.closed) throw new Error(`result sink ${this.label} is already closed`);
    this.throwIfFailed();
    if (!this.stream.write(text, done)) await this.waitFor('drain');
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.throwIfFailed();
    if (this.ownsStream) {
      if (!this.stream.destroyed) {
        const done = this.waitFor('close');
        this.stream.end();
        await done;
      }
    } else {
      // Not ours to end: wait until everything we queued has been handed to the OS.
      await new Promise<void>((resolve) => {
        this.stream.write('', () => resolve());
      }).catch(() => undefined);
      if (this.stream.writableNeedDrain) await this.waitFor('drain');
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Resolves on `event`, or as soon as the stream fails or goes away (the caller re-checks). */
  private waitFor(event: 'drain' | 'close'): Promise<void> {
    const s = this.stream;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        s.off(event, done);
        s.off('error', done);
        s.off('close', done);
        resolve();
      };
      s.on(event, done);
      s.on('error', done);
      s.on('close', done);
    });
  }
}

async function checkCsvHeader(target: string, header: string): Promise<void> {
  const fh = await open(target, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let text = buf.toString('utf8', 0, bytesRead);
    // The column line follows the provenance header line.
    if (text.startsWith('#')) text = text.slice(text.indexOf('\n') + 1);
    const found = text.slice(0, header.length);
    if (found !== header) {
      throw new Error(`${target} has the header '${found.split('\n')[0]}', but this run writes '${header.trim()}' (another task's columns?); write to a new file`);
    }
  } finally {
    await fh.close();
  }
}

function sinkError(label: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new Error(`cannot write results to ${label}: ${reason}`, { cause: err });
}
