// Entry point of an inference worker thread. It owns exactly one ORT session, because
// session.run is synchronous native work that would otherwise stall the main thread's decoding.
// Postprocessing happens here too: it keeps the large raw output tensor off the message channel
// (only the few detections go back) and spreads NMS across workers.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../model/fp16.js';
import { taskNamed } from '../tasks/registry.js';
import type { TaskDefinition, TensorView } from '../tasks/types.js';
import type { ConfigureMessage, DeviceKind, FromWorker, RunMessage, ToWorker, WorkerInit } from './protocol.js';
import { sessionOptionsFor } from './providers.js';

const init = workerData as WorkerInit;
const port = parentPort!;
let decode: { msg: ConfigureMessage; task: TaskDefinition } | null = null;
// fp16 models need a half-precision copy of the input; keep one scratch buffer per worker.
let halfScratch: Uint16Array | null = null;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function inputTensor(f32: Float32Array, dims: number[]): ort.Tensor {
  if (init.inputType === 'float16') {
    if (!halfScratch || halfScratch.length < f32.length) halfScratch = new Uint16Array(f32.length);
    const half = halfScratch.subarray(0, f32.length);
    float32ToFloat16Bits(f32, half);
    return new ort.Tensor('float16', half, dims);
  }
  return new ort.Tensor('float32', f32, dims);
}

function outputAsFloat32(name: string, t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return float16BitsToFloat32(t.data as Uint16Array);
  throw new Error(`output '${name}' has type ${t.type}; only float32 and float16 are supported`);
}

/** Runs one batch and returns every output the task reads (outputNames order), as float32. */
async function runOnce(session: ort.InferenceSession, f32: Float32Array, count: number): Promise<{ data: Float32Array; dims: number[] }[]> {
  const [h, w] = init.imgsz;
  const feeds = { [init.inputName]: inputTensor(f32, [count, 3, h, w]) };
  const out = await session.run(feeds, init.outputNames);
  return init.outputNames.map((name) => {
    const t = out[name]!;
    return { data: outputAsFloat32(name, t), dims: [...t.dims] };
  });
}

/** Image i's slice of each output (batch dim dropped): views, no copies. */
function imageViews(outputs: { data: Float32Array; dims: number[] }[], i: number): TensorView[] {
  return outputs.map(({ data, dims }) => {
    const per = dims.slice(1).reduce((a, b) => a * b, 1);
    return { data: data.subarray(i * per, (i + 1) * per), dims: dims.slice(1) };
  });
}

async function createSession(): Promise<{ session: ort.InferenceSession; device: DeviceKind } | null> {
  const fallbacks: { device: DeviceKind; reason: string }[] = [];
  const [h, w] = init.imgsz;
  for (const device of init.devices) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(init.modelPath, sessionOptionsFor(device, init.intraOpThreads));
    } catch (err) {
      fallbacks.push({ device, reason: firstLine(err) });
      continue;
    }
    try {
      // A warm-up run: it reveals the real output dims and catches models whose dynamic dims
      // lie (e.g. anchor grids baked in for one size) before any image is read.
      const probe = await runOnce(session, new Float32Array(3 * h * w), 1);
      post({ type: 'ready', device, fallbacks, probeDims: probe.map((o) => o.dims) });
      return { session, device };
    } catch (err) {
      await session.release().catch(() => undefined);
      fallbacks.push({ device, reason: `the model fails on a 1×3×${h}×${w} input: ${firstLine(err)}` });
    }
  }
  const last = fallbacks[fallbacks.length - 1];
  post({ type: 'init-failed', message: last ? last.reason : 'no execution provider to try', fallbacks });
  return null;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // ORT's native messages carry source paths and multi-line context; the first useful line is enough.
  return msg.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
}

async function handleRun(session: ort.InferenceSession, msg: RunMessage): Promise<void> {
  const f32 = new Float32Array(msg.input);
  const [h, w] = init.imgsz;
  const used = f32.subarray(0, msg.count * 3 * h * w);
  const t0 = performance.now();
  let result;
  try {
    result = await runOnce(session, used, msg.count);
  } catch (err) {
    post({ type: 'result', id: msg.id, input: msg.input, error: firstLine(err), inferMs: performance.now() - t0, postMs: 0 }, [msg.input]);
    return;
  }
  const t1 = performance.now();
  const { msg: conf, task } = decode!;
  const detections = [];
  try {
    for (let i = 0; i < msg.count; i++) detections.push(task.decode(imageViews(result, i), msg.geometries[i]!, conf.post, conf.names, conf.spec));
  } catch (err) {
    post({ type: 'result', id: msg.id, input: msg.input, error: `postprocessing failed: ${firstLine(err)}`, inferMs: t1 - t0, postMs: performance.now() - t1 }, [msg.input]);
    return;
  }
  post({ type: 'result', id: msg.id, input: msg.input, detections, inferMs: t1 - t0, postMs: performance.now() - t1 }, [msg.input]);
}

async function main(): Promise<void> {
  const created = await createSession();
  if (!created) return;
  const { session } = created;
  // Runs are serialised: ORT sessions are thread-safe, but one run at a time per worker is what
  // makes the thread count per session meaningful.
  let chain = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'configure') decode = { msg, task: taskNamed(msg.spec.task)! };
    else if (msg.type === 'run') chain = chain.then(() => handleRun(session, msg));
    else if (msg.type === 'close') chain = chain.then(() => session.release()).then(() => port.close());
  });
}

void main();
