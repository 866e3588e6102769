// Reports go to stdout, which may be a pipe closed early (`yolo-serve eval r.jsonl | head`):
// that is the reader's choice, not an error worth a stack trace.
export function writeReport(stream: NodeJS.WritableStream, text: string): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  stream.write(text);
}
