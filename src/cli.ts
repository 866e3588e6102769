// Executable entry (bin/yolo-serve imports this); everything else lives in program.ts so tests
// can import it without running a command.
import { main } from './program.js';
import { applyNativeEnvDefaults } from './runtime-env.js';

// Before anything loads onnxruntime (the inference workers, inspect's probe): no telemetry.
applyNativeEnvDefaults(process.env);
void main(process.argv);
