// Every exit status of every command, one table: its code, its name, what it means (per command
// where the general meaning is too vague), and its rank in `worse`. The help texts' "Exit codes"
// paragraphs and the README's table are written from it; test/exit-codes.test.js fails when a
// command can end with a code the table lacks, or a help text leaves one out.

export type CommandName = 'batch' | 'inspect' | 'merge' | 'report' | 'eval' | 'diff' | 'export';

export interface ExitStatus {
  readonly code: number;
  readonly name: string;
  /** What the code means, for any command. */
  readonly meaning: string;
  /** The commands that can end with it, each with its own wording when the general one is vague (else ''). */
  readonly commands: Readonly<Partial<Record<CommandName, string>>>;
  /**
   * Severity in `worse`: when two outcomes meet (a run that stopped, then a report that could not
   * be written), the higher rank wins; equal ranks keep the first — the first cause explains the rest.
   */
  readonly rank: number;
}

const ALL: Record<CommandName, string> = { batch: '', inspect: '', merge: '', report: '', eval: '', diff: '', export: '' };

export const EXIT_STATUSES = [
  {
    code: 0,
    name: 'ok',
    meaning: 'success',
    commands: { batch: 'all images ok', inspect: 'the model is usable', merge: 'merged cleanly', report: 'written', eval: 'evaluated (and the gate passed)', diff: 'compared (and no --fail-if condition held)', export: 'written' },
    rank: 0,
  },
  {
    code: 1,
    name: 'some-failed',
    meaning: 'the command finished, but found what it reports as a problem',
    commands: {
      batch: 'some images failed (the run still completed; their error records are in the output), or the --max-failures/--max-failure-rate budget stopped it',
      inspect: 'the model fails the probe inference',
      merge: 'conflicts, missing images or a part cut short (the merged file is still written)',
      eval: 'a --fail-under floor was not met',
      diff: 'a --fail-if condition held',
    },
    rank: 1,
  },
  {
    code: 2,
    name: 'usage',
    meaning: 'usage, model, input or output-target error: nothing was run',
    commands: {
      ...ALL,
      batch: 'usage, model, input or output-target error (nothing run)',
      inspect: 'the model cannot be used (the report says why)',
      merge: 'usage error, unreadable part or parts of different runs',
      report: 'usage error or unreadable input',
      eval: 'usage error or unreadable results/labels',
      diff: 'usage error, unreadable file, or no image in common',
      export: 'usage error or unreadable input',
    },
    rank: 6,
  },
  {
    code: 3,
    name: 'run-failed',
    meaning: 'the run broke (inference failed, or results could not be written); the output keeps every record written so far',
    commands: { batch: 'the run broke (inference failed, results could not be written): the output keeps every record written so far' },
    rank: 4,
  },
  {
    code: 70,
    name: 'internal',
    meaning: 'internal error: a bug (--verbose prints its stack)',
    commands: ALL,
    rank: 7,
  },
  {
    code: 130,
    name: 'interrupted-sigint',
    meaning: 'interrupted by SIGINT (128 + 2): the images in flight were finished and written',
    commands: { batch: 'interrupted by SIGINT' },
    rank: 2,
  },
  {
    code: 141,
    name: 'output-closed',
    meaning: 'the reader of the output pipe went away (`--out - | head -1`): the shell\'s code for SIGPIPE (128 + 13), as `set -o pipefail` sees it for `cat`',
    commands: { batch: '--out - closed by its reader', merge: 'OUT - closed by its reader' },
    rank: 4,
  },
  {
    code: 143,
    name: 'interrupted-sigterm',
    meaning: 'interrupted by SIGTERM (128 + 15): the images in flight were finished and written',
    commands: { batch: 'interrupted by SIGTERM' },
    rank: 2,
  },
] as const satisfies readonly ExitStatus[];

/** A code in the table: what every command's exit goes through. */
export type ExitCode = (typeof EXIT_STATUSES)[number]['code'];

export const EXIT_OK = 0 satisfies ExitCode;
/** Some images failed (their error records are in the output), or the error budget stopped the run; a gate failed; merge found problems. */
export const EXIT_SOME_FAILED = 1 satisfies ExitCode;
/** Usage, model, input or output-target error: nothing was run. */
export const EXIT_USAGE = 2 satisfies ExitCode;
/** The run broke: inference failed, or the results could not be written. */
export const EXIT_RUN_FAILED = 3 satisfies ExitCode;
/** A bug: an error that is none of the user-fixable kinds (program.ts). */
export const EXIT_INTERNAL = 70 satisfies ExitCode;
export const EXIT_SIGINT = 130 satisfies ExitCode;
/** The reader of the output pipe went away (SIGPIPE's shell code). */
export const EXIT_OUTPUT_CLOSED = 141 satisfies ExitCode;
export const EXIT_SIGTERM = 143 satisfies ExitCode;

/** The table entry of `code` (throws for a code not in the table: a bug). */
export function exitStatus(code: number): ExitStatus {
  const s = EXIT_STATUSES.find((e) => e.code === code);
  if (!s) throw new Error(`exit code ${code} is not in src/exit-codes.ts`);
  return s;
}

/** The one rule for combining two outcomes: the more severe (higher rank) wins; a tie keeps `a`. */
export function worse<A extends ExitCode, B extends ExitCode>(a: A, b: B): A | B {
  return exitStatus(b).rank > exitStatus(a).rank ? b : a;
}

/** The statuses `command` can end with, in code order. */
export function exitStatusesOf(command: CommandName): { code: ExitCode; name: string; meaning: string }[] {
  return EXIT_STATUSES.filter((s) => command in s.commands).map((s) => ({ code: s.code, name: s.name, meaning: (s.commands as Partial<Record<CommandName, string>>)[command] || s.meaning }));
}

/**
 * The "Exit codes:" paragraph of `command`'s help, wrapped at `width` columns. Signals that share a
 * wording ("interrupted by SIGINT", "… SIGTERM") are listed as one entry ("130/143").
 */
export function exitCodesHelp(command: CommandName, width = 96): string {
  const parts: string[] = [];
  const statuses = exitStatusesOf(command);
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i]!;
    const sigterm = s.code === EXIT_SIGINT ? statuses.find((t) => t.code === EXIT_SIGTERM) : undefined;
    if (s.code === EXIT_SIGTERM && statuses.some((t) => t.code === EXIT_SIGINT)) continue;
    parts.push(sigterm ? `${s.code}/${sigterm.code} interrupted by SIGINT/SIGTERM` : `${s.code} ${s.meaning}`);
  }
  let text = `Exit codes: ${parts.join('; ')}.`;
  if (command === 'batch') {
    text += ` After ${EXIT_SOME_FAILED} (budget), ${EXIT_RUN_FAILED}, ${EXIT_SIGINT} or ${EXIT_SIGTERM}, rerun the same command with --resume to continue.`;
  }
  return wrap(text, width);
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
