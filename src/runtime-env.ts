// Environment defaults for the native libraries yolo-serve loads, applied once at start-up by the
// CLI (cli.ts) before any of them is loaded. The process environment is shared by every thread,
// so the inference workers' onnxruntime sees them too.
//
// onnxruntime-node 1.29+ ships Linux binaries with Microsoft's 1DS telemetry on by default: every
// process creates /tmp/mat-debug-<pid>.log, $TMPDIR/.ses, and a device id and event database under
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, and queues events for upload. An offline batch
// tool must leave nothing behind but its outputs. onnxruntime's documented opt-out is the
// environment variable ORT_DISABLE_TELEMETRY (1/true/yes/on), read once when the runtime starts
// (onnxruntime/core/platform/telemetry_environment.h, IsTelemetryDisabledByEnvironment).

/** Variables set when the user has not set them: an explicit value (even ORT_DISABLE_TELEMETRY=0) wins. */
export const NATIVE_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  ORT_DISABLE_TELEMETRY: '1',
});

export function applyNativeEnvDefaults(env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(NATIVE_ENV_DEFAULTS)) {
    if (env[name] === undefined) env[name] = value;
  }
}
