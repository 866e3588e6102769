// The batch command's exit codes, one definition (README, "Exit codes"). Signals add 130/143
// (reliability/signals.ts).
export const EXIT_OK = 0;
/** Some images failed (their error records are in the output), or the error budget stopped the run. */
export const EXIT_SOME_FAILED = 1;
/** Usage, model, input or output-target error: nothing was run. */
export const EXIT_USAGE = 2;
/** The run broke: inference failed, or the results could not be written. */
export const EXIT_RUN_FAILED = 3;
/**
 * The reader of the output pipe went away (`--out - | head -1`): the shell's code for a process
 * ended by SIGPIPE (128 + 13), which a `set -o pipefail` script sees as it would for `cat`.
 */
export const EXIT_OUTPUT_CLOSED = 141;
