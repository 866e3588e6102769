/**
 * Inputs that cannot be used at all (missing path, empty glob/directory/manifest, malformed
 * manifest). Raised once, before any work starts, listing every problem — one per line — so the
 * user can fix them all in one go. The CLI maps it to exit code 2.
 */
export class InputError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'InputError';
    this.problems = problems;
  }
}
