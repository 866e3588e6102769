// One `dispose` for everything a run opens (output lock, inference pool, signal handlers,
// progress display): each part registers its undo as it opens something, and the run undoes them
// all, newest first, whatever happened in between.

export class Disposer {
  private readonly undo: { what: string; fn: () => void | Promise<void> }[] = [];
  private disposed = false;

  /** Registers `fn` to run at dispose (before the ones registered earlier). */
  add(what: string, fn: () => void | Promise<void>): void {
    if (this.disposed) throw new Error(`Disposer: ${what} opened after dispose`);
    this.undo.push({ what, fn });
  }

  /**
   * Runs every undo, newest first; one that fails does not keep the others from running. The
   * first failure is rethrown at the end (a bug: closing an open thing should not fail).
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    let first: unknown = null;
    while (this.undo.length > 0) {
      const { fn } = this.undo.pop()!;
      try {
        await fn();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }
}
