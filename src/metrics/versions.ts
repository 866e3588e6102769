// Versions recorded in run summaries and shown by `inspect`. Read from package.json files rather
// than by loading onnxruntime's native binding on the main thread just to ask it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface Versions {
  yolo_serve: string;
  onnxruntime: string;
  node: string;
}

function packageVersion(read: () => string): string {
  try {
    const v = (JSON.parse(read()) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function toolVersions(): Versions {
  const require = createRequire(import.meta.url);
  return {
    yolo_serve: packageVersion(() => readFileSync(new URL('../../package.json', import.meta.url), 'utf8')),
    onnxruntime: packageVersion(() => readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')),
    node: process.versions.node,
  };
}
