// Execution-provider selection. `--device auto` tries the fastest provider that can work on
// this machine and falls back with a reason; cheap file checks run first so that a CPU-only
// machine does not pay for (or print native noise from) a doomed GPU session.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { DeviceKind, DeviceRequest } from './devices.js';
export { DEVICE_REQUESTS, type DeviceRequest } from './devices.js';


/**
 * Order tried by `auto`. TensorRT is left out on purpose: it builds an engine per model and
 * input shape (minutes) on first use, which a user should choose knowingly.
 */
const AUTO_ORDER: readonly DeviceKind[] = ['cuda', 'webgpu', 'cpu'];

export interface DevicePlan {
  /** Devices to try, in order (always ends with cpu for auto). */
  candidates: DeviceKind[];
  /** Devices skipped before trying, with why. */
  skipped: { device: DeviceKind; reason: string }[];
}

export interface Probe {
  /** Folder holding onnxruntime-node's native binaries. */
  ortBinDir: string | null;
  /** Library folders to look for system libraries (libvulkan) in. */
  libDirs: string[];
  /** Device nodes whose presence means a GPU is visible to this process. */
  gpuNodes: string[];
}

export function defaultProbe(): Probe {
  let ortBinDir: string | null = null;
  try {
    const require = createRequire(import.meta.url);
    const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
    ortBinDir = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    ortBinDir = null;
  }
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
  for (const p of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (p) libDirs.push(p);
  return { ortBinDir, libDirs, gpuNodes: ['/dev/nvidia0', '/dev/dri/renderD128', '/dev/dri/renderD129', '/dev/dxg'] };
}

/** Why a device cannot work here, or null when it is worth trying. Pure given the probe. */
export function unavailableReason(device: DeviceKind, probe: Probe, exists: (p: string) => boolean = existsSync): string | null {
  if (device === 'cpu') return null;
  if (process.platform !== 'linux') return null; // elsewhere let ORT decide
  if (device === 'cuda' || device === 'tensorrt') {
    const lib = device === 'cuda' ? 'libonnxruntime_providers_cuda.so' : 'libonnxruntime_providers_tensorrt.so';
    if (!probe.ortBinDir || !exists(join(probe.ortBinDir, lib))) {
      return `${lib} is not installed (run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)`;
    }
    return null;
  }
  // webgpu: Dawn needs the Vulkan loader and a GPU device node on Linux. Without a GPU, Dawn
  // would at best find a software rasteriser (slower than the CPU provider) and prints native
  // warnings while it looks.
  if (!probe.libDirs.some((d) => exists(join(d, 'libvulkan.so.1')))) return 'no Vulkan loader (libvulkan.so.1) found';
  if (!probe.gpuNodes.some((n) => exists(n))) return 'no GPU device (/dev/dri/renderD128 or /dev/nvidia0)';
  return null;
}

export function planDevices(request: DeviceRequest, probe: Probe = defaultProbe(), exists?: (p: string) => boolean): DevicePlan {
  if (request !== 'auto') {
    // An explicit request is tried as asked, except when the provider's own library is plainly
    // missing: then ORT would only print native errors before failing the same way.
    const missingLib = request === 'cuda' || request === 'tensorrt' ? unavailableReason(request, probe, exists) : null;
    return missingLib ? { candidates: [], skipped: [{ device: request, reason: missingLib }] } : { candidates: [request], skipped: [] };
  }
  const candidates: DeviceKind[] = [];
  const skipped: DevicePlan['skipped'] = [];
  for (const device of AUTO_ORDER) {
    const reason = unavailableReason(device, probe, exists);
    if (reason) skipped.push({ device, reason });
    else candidates.push(device);
  }
  return { candidates, skipped };
}

export function sessionOptionsFor(device: DeviceKind, intraOpThreads: number): ort.InferenceSession.SessionOptions {
  // GPU providers list cpu after them so that ops they lack still run (ORT assigns per node).
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    device === 'cpu' ? ['cpu'] : device === 'cuda' ? [{ name: 'cuda', deviceId: 0 }, 'cpu'] : device === 'tensorrt' ? [{ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 }, 'cpu'] : ['webgpu', 'cpu'];
  return {
    executionProviders,
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // ORT's intra-op threads spin while waiting for work by default. Next to other sessions and
    // the decoders on a few cores, spinning burns the CPU those need: on 2 cores one session with
    // 2 threads took ~95–120 CPU ms per yolov8n_int8_640 image spinning and ~62 without, at the
    // same or better speed. (onnxruntime-node passes `extra` as session config entries.)
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    // The memory pattern pre-plans one block for all activations of an input shape on top of the
    // arena; on CPU it cost ~23 MB of RSS per yolov8n_int8_640 session and gained no speed
    // (2 sessions × 1 thread: 298 vs 252 MB peak, same images/s in 5 alternating runs).
    ...(device === 'cpu' ? { enableMemPattern: false } : {}),
  };
}
