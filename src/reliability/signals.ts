// SIGINT/SIGTERM handling for a run. The first signal asks the run to stop gracefully (the
// caller stops taking work, drains, closes its outputs); a repeat of either signal means "now".
// The process object is a parameter so tests can drive it with a plain EventEmitter.
import { EXIT_SIGINT, EXIT_SIGTERM, type ExitCode } from '../exit-codes.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

/** Shell convention: 128 + the signal number. */
export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, ExitCode>> = { SIGINT: EXIT_SIGINT, SIGTERM: EXIT_SIGTERM };

/** The part of `process` this module uses. */
export interface SignalProcess {
  readonly pid: number;
  on(event: StopSignal, listener: () => void): unknown;
  off(event: StopSignal, listener: () => void): unknown;
  kill(pid: number, signal: StopSignal): unknown;
  /** How many listeners `event` has (process and EventEmitter have it). */
  listenerCount?(event: StopSignal): number;
}

export interface StopSignalHandlers {
  /** The first SIGINT or SIGTERM. */
  onFirst(signal: StopSignal): void;
  /** Any later one (the user insists). The handler decides how fast to leave. */
  onRepeat(signal: StopSignal): void;
}

/**
 * Ends the process by `signal` itself, with the default action (call after dispose): the parent
 * sees "killed by SIGINT" (a shell reports 130/143), which is what lets a shell loop stop on
 * Ctrl-C — and, unlike process.exit(), it does not run native teardown under worker threads that
 * are still inside onnxruntime (which aborts the process).
 */
export function dieBySignal(proc: SignalProcess, signal: StopSignal): void {
  proc.kill(proc.pid, signal);
}

/**
 * Routes SIGINT and SIGTERM to `handlers` until the returned function is called, which restores
 * the default behaviour (an immediate kill) — right for the moments after outputs are closed.
 */
export function handleStopSignals(proc: SignalProcess, handlers: StopSignalHandlers): () => void {
  let received: StopSignal | null = null;
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = (): void => {
      if (received === null) {
        received = signal;
        handlers.onFirst(signal);
      } else {
        handlers.onRepeat(signal);
      }
    };
    proc.on(signal, listener);
    return { signal, listener };
  });
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    for (const { signal, listener } of listeners) proc.off(signal, listener);
  };
}
