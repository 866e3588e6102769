// A small incremental RFC 4180 parser: comma-separated, '"'-quoted fields with '""' escapes,
// records ended by LF or CRLF, newlines allowed inside quotes. Lenient where Excel-style files
// are sloppy (a stray quote inside an unquoted field is kept literally).
//
// Why not csv-parse: resume and merge need the exact offset where each record ends (to cut a torn
// tail, and to re-read records by byte span), which csv-parse only reports as a running byte count
// per emitted record; this parser's `end` is exact and the whole thing is small.

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
  /** Index in the chunk passed to push() just after the record's line ending (0 from end()). */
  end: number;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just saw a '"' inside a quoted field: either an escaped quote or the closing one. */
  QuoteInQuoted,
}

export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  /** A '\r' outside quotes whose meaning depends on the next character. */
  private pendingCr = false;
  private line = 1;
  private recordLine = 1;
  /** Line on which the currently open quoted field started (for error messages). */
  private quoteLine = 0;
  private dirty = false;

  /** Feeds text; returns the records it completed. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === '\n') {
          this.line++;
          out.push(this.finishRecord(i + 1));
          continue;
        }
        this.field += '\r';
        this.state = State.Unquoted;
      }
      this.dirty = true;
      if (this.state === State.QuoteInQuoted) {
        if (c === '"') {
          this.field += '"';
          this.state = State.Quoted;
          continue;
        }
        // The quote closed the field's quoted part; anything else goes on as unquoted text
        // (`"ab"c` keeps the `c`, as Python's csv module does).
        this.state = State.Unquoted;
      }
      switch (this.state) {
        case State.FieldStart:
        case State.Unquoted:
          if (c === ',') {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
          } else if (c === '\n') {
            this.line++;
            out.push(this.finishRecord(i + 1));
          } else if (c === '\r') {
            this.pendingCr = true;
          } else if (c === '"' && this.state === State.FieldStart) {
            this.state = State.Quoted;
            this.quoteLine = this.line;
          } else {
            this.field += c;
            this.state = State.Unquoted;
          }
          break;
        case State.Quoted:
          if (c === '"') this.state = State.QuoteInQuoted;
          else {
            if (c === '\n') this.line++;
            this.field += c;
          }
          break;
      }
    }
    return out;
  }

  /**
   * Ends the input. Returns the final record when the text did not end with a line ending
   * (`null` when it did), or throws when a quoted field was never closed.
   */
  end(): CsvRecord | null {
    if (this.state === State.Quoted) {
      throw new Error(`unterminated quoted field starting on line ${this.quoteLine}`);
    }
    if (this.pendingCr) this.field += '\r';
    this.pendingCr = false;
    if (!this.dirty) return null;
    return this.finishRecord(0);
  }

  /** True while a record has been started but not ended. */
  get hasPartialRecord(): boolean {
    return this.dirty;
  }

  private finishRecord(end: number): CsvRecord {
    this.fields.push(this.field);
    const rec: CsvRecord = { fields: this.fields, line: this.recordLine, end };
    this.fields = [];
    this.field = '';
    this.state = State.FieldStart;
    this.recordLine = this.line;
    this.dirty = false;
    return rec;
  }
}

/** Parses a whole CSV text. Throws on an unterminated quoted field. */
export function parseCsv(text: string): CsvRecord[] {
  const parser = new CsvParser();
  const records = parser.push(text);
  const last = parser.end();
  if (last) records.push(last);
  return records;
}
