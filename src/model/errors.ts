/**
 * A user-facing failure while loading or interpreting a model (missing file, not ONNX, unsupported
 * layout, conflicting options). The CLI prints `message` as is, so it names the file and the reason.
 */
export class ModelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
  }
}
