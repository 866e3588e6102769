// Executable entry (bin/yolo-serve imports this); everything else lives in program.ts so tests
// can import it without running a command.
import { main } from './program.js';

void main(process.argv);
