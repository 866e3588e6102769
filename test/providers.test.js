// Device planning (src/inference/providers.ts): pure functions, tested with a fake file system so
// every machine kind can be simulated here. planParallelism is tested in plan.test.js.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { DEVICE_REQUESTS, defaultProbe, planDevices, sessionOptionsFor, unavailableReason } from '../dist/inference/providers.js';

// ---------------------------------------------------------------------------------------------
describe('planDevices / unavailableReason (Linux checks)', { skip: process.platform !== 'linux' && 'provider file checks are Linux-only' }, () => {
  const probe = { ortBinDir: '/ort/bin', libDirs: ['/usr/lib/x86_64-linux-gnu', '/opt/vulkan/lib'], gpuNodes: ['/dev/nvidia0', '/dev/dri/renderD128'] };
  const CUDA_LIB = '/ort/bin/libonnxruntime_providers_cuda.so';
  const TRT_LIB = '/ort/bin/libonnxruntime_providers_tensorrt.so';
  const VULKAN = '/opt/vulkan/lib/libvulkan.so.1';
  /** A fake file system holding exactly these paths; records every path asked about. */
  function fakeFs(...present) {
    const set = new Set(present);
    const asked = [];
    const exists = (p) => {
      asked.push(p);
      return set.has(p);
    };
    return { exists, asked };
  }
  const NO_CUDA = 'libonnxruntime_providers_cuda.so is not installed (run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)';
  const NO_VULKAN = 'no Vulkan loader (libvulkan.so.1) found';
  const NO_GPU = 'no GPU device (/dev/dri/renderD128 or /dev/nvidia0)';

  test('CPU-only machine: auto tries cpu alone, and says why each GPU provider was skipped', () => {
    const { exists } = fakeFs();
    assert.deepEqual(planDevices('auto', probe, exists), {
      candidates: ['cpu'],
      skipped: [
        { device: 'cuda', reason: NO_CUDA },
        { device: 'webgpu', reason: NO_VULKAN },
      ],
    });
  });

  test('CUDA provider libraries installed: cuda first, cpu as the fallback', () => {
    const { exists, asked } = fakeFs(CUDA_LIB);
    assert.deepEqual(planDevices('auto', probe, exists), { candidates: ['cuda', 'cpu'], skipped: [{ device: 'webgpu', reason: NO_VULKAN }] });
    assert.ok(asked.includes(CUDA_LIB));
  });

  test('Vulkan loader present but no GPU device node: webgpu skipped for the missing GPU', () => {
    const { exists, asked } = fakeFs(VULKAN);
    assert.equal(unavailableReason('webgpu', probe, exists), NO_GPU);
    assert.ok(asked.includes('/dev/nvidia0') && asked.includes('/dev/dri/renderD128'), 'every GPU node is looked at');
    assert.deepEqual(planDevices('auto', probe, exists).skipped.map((s) => s.reason), [NO_CUDA, NO_GPU]);
  });

  test('Vulkan and a render node: webgpu is tried after cuda, before cpu', () => {
    assert.deepEqual(planDevices('auto', probe, fakeFs(VULKAN, '/dev/dri/renderD128').exists), { candidates: ['webgpu', 'cpu'], skipped: [{ device: 'cuda', reason: NO_CUDA }] });
    assert.deepEqual(planDevices('auto', probe, fakeFs(CUDA_LIB, VULKAN, '/dev/nvidia0').exists), { candidates: ['cuda', 'webgpu', 'cpu'], skipped: [] });
  });

  test('auto never picks TensorRT (engine builds take minutes), even when it is installed', () => {
    const { exists } = fakeFs(CUDA_LIB, TRT_LIB);
    assert.equal(unavailableReason('tensorrt', probe, exists), null);
    assert.deepEqual(planDevices('auto', probe, exists).candidates, ['cuda', 'cpu']);
    assert.equal(
      unavailableReason('tensorrt', probe, fakeFs(CUDA_LIB).exists),
      'libonnxruntime_providers_tensorrt.so is not installed (run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)',
    );
  });

  test('onnxruntime-node not found: cuda is unavailable; cpu never needs a check', () => {
    const noOrt = { ...probe, ortBinDir: null };
    assert.equal(unavailableReason('cuda', noOrt, () => true), NO_CUDA);
    const { exists, asked } = fakeFs();
    assert.equal(unavailableReason('cpu', probe, exists), null);
    assert.deepEqual(asked, []);
  });

  test('an explicit --device is tried as asked when its provider library is installed', () => {
    for (const device of ['cpu', 'cuda', 'tensorrt', 'webgpu']) {
      assert.deepEqual(planDevices(device, probe, () => true), { candidates: [device], skipped: [] });
    }
    // webgpu's checks are heuristics (device nodes, loader paths): an explicit request skips them.
    const { exists, asked } = fakeFs();
    assert.deepEqual(planDevices('webgpu', probe, exists), { candidates: ['webgpu'], skipped: [] });
    assert.deepEqual(asked, []);
    assert.deepEqual(DEVICE_REQUESTS, ['auto', 'cpu', 'cuda', 'tensorrt', 'webgpu']);
  });

  test('an explicit cuda/tensorrt without its provider library is refused up front, with the reason', () => {
    for (const device of ['cuda', 'tensorrt']) {
      const plan = planDevices(device, probe, () => false);
      assert.deepEqual(plan.candidates, []);
      assert.equal(plan.skipped.length, 1);
      assert.equal(plan.skipped[0].device, device);
      assert.match(plan.skipped[0].reason, new RegExp(`libonnxruntime_providers_${device}\\.so is not installed`));
    }
  });

  test('defaultProbe points at the installed onnxruntime-node binaries', () => {
    const p = defaultProbe();
    assert.ok(p.ortBinDir && fs.existsSync(p.ortBinDir), `ortBinDir ${p.ortBinDir}`);
    assert.ok(fs.readdirSync(p.ortBinDir).some((f) => f.startsWith('libonnxruntime.so')));
    assert.ok(p.ortBinDir.endsWith(path.join('bin', 'napi-v6', 'linux', process.arch)));
    assert.ok(p.gpuNodes.includes('/dev/nvidia0') && p.gpuNodes.includes('/dev/dri/renderD128'));
    for (const d of (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) assert.ok(p.libDirs.includes(d));
  });
});

// ---------------------------------------------------------------------------------------------
describe('sessionOptionsFor', () => {
  test('GPU providers keep cpu behind them for the ops they lack', () => {
    const eps = (d) => sessionOptionsFor(d, 1).executionProviders;
    assert.deepEqual(eps('cpu'), ['cpu']);
    assert.deepEqual(eps('cuda'), [{ name: 'cuda', deviceId: 0 }, 'cpu']);
    assert.deepEqual(eps('tensorrt'), [{ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 }, 'cpu']);
    assert.deepEqual(eps('webgpu'), ['webgpu', 'cpu']);
  });

  test('threads: intra-op as planned, one inter-op thread, sequential execution', () => {
    const o = sessionOptionsFor('cpu', 3);
    assert.deepEqual([o.intraOpNumThreads, o.interOpNumThreads, o.executionMode, o.graphOptimizationLevel], [3, 1, 'sequential', 'all']);
  });

  test('intra-op threads never spin (sessions share cores with each other and the decoders); CPU sessions skip the memory pattern', () => {
    for (const d of ['cpu', 'cuda', 'tensorrt', 'webgpu']) assert.deepEqual(sessionOptionsFor(d, 2).extra, { session: { intra_op: { allow_spinning: '0' } } });
    assert.equal(sessionOptionsFor('cpu', 1).enableMemPattern, false);
    assert.equal(sessionOptionsFor('cuda', 1).enableMemPattern, undefined);
  });
});
