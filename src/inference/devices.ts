// Execution providers yolo-serve can ask ONNX Runtime for, and what --device accepts. Plain data:
// importing it loads nothing native.
export type DeviceKind = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu';
export const DEVICE_KINDS: readonly DeviceKind[] = ['cpu', 'cuda', 'tensorrt', 'webgpu'];

export type DeviceRequest = DeviceKind | 'auto';
export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', ...DEVICE_KINDS];
