// The last step of a run stopped by SIGINT/SIGTERM. By then the outputs are closed, the report is
// printed and the signal handlers are gone, so the process normally ends by itself at once. A read
// stuck in the kernel (a hung network mount, a device) cannot be cancelled, though, and its pending
// request alone keeps Node's event loop, and so the process, alive. The user asked the process to
// end: if it is still there shortly after, it ends itself by the same signal.
import type { SignalProcess, StopSignal } from './signals.js';
import { dieBySignal } from './signals.js';

/** How long a stopped run may take to end by itself once its outputs are closed. */
export const STUCK_EXIT_GRACE_MS = 1_000;

/** Ends `proc` by `signal` after `graceMs` unless it has exited by then (the timer does not keep it alive). */
export function endStoppedProcess(proc: SignalProcess, signal: StopSignal, graceMs = STUCK_EXIT_GRACE_MS): void {
  setTimeout(() => dieBySignal(proc, signal), graceMs).unref();
}
