// Parses the Python literals (repr() output) that Ultralytics writes into ONNX metadata_props,
// e.g. names = "{0: 'person', 1: 'bicycle'}", imgsz = "[640, 640]", args = "{'half': False}".
//
// Mapping: dict → Map (keeps int keys as numbers, keeps order, and cannot be polluted through a
// "__proto__" key), list and tuple → array, str → string, int and float → number (ints beyond
// 2^53 lose precision), True/False → boolean, None → null, inf/nan → Infinity/NaN.

export class PyLiteralError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`invalid Python literal at position ${position}: ${message}`);
    this.name = 'PyLiteralError';
  }
}

export type PyValue = null | boolean | number | string | PyValue[] | Map<PyValue, PyValue>;

export function parsePyLiteral(text: string): PyValue {
  const p = new Parser(text);
  const value = p.value();
  p.skipSpace();
  if (p.pos < text.length) p.fail('unexpected text after the value');
  return value;
}

const KEYWORDS: Record<string, PyValue> = {
  True: true,
  False: false,
  None: null,
  inf: Infinity,
  nan: NaN,
};

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

// int or float as repr() writes them (1, -2, 0.5, 1e-05, 1.5e+20), or a signed inf/nan.
const NUMBER = /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])|[+-](?:inf|nan)\b/y;

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string, at = this.pos): never {
    throw new PyLiteralError(message, at);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length && (t[this.pos] === ' ' || t[this.pos] === '\t' || t[this.pos] === '\n' || t[this.pos] === '\r')) {
      this.pos++;
    }
  }

  value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.dict();
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.tuple();
    if (c === "'" || c === '"') return this.string();
    if (/[A-Za-z_]/.test(c)) return this.keyword();
    return this.number();
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  /** After an item: consumes ',' and returns true if another item may follow, false at `close`. */
  private separator(close: string): boolean {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === ',') {
      this.pos++;
      return true;
    }
    if (c === close) return false;
    this.fail(`expected ',' or '${close}'`);
  }

  /** True (and consumes it) if the next non-space character is `close`. */
  private closes(close: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] !== close) return false;
    this.pos++;
    return true;
  }

  private dict(): Map<PyValue, PyValue> {
    this.pos++; // '{'
    const map = new Map<PyValue, PyValue>();
    while (!this.closes('}')) {
      const keyAt = this.pos;
      const key = this.value();
      if (key instanceof Map || Array.isArray(key)) this.fail('dict keys must be simple values', keyAt);
      this.expect(':');
      map.set(key, this.value());
      if (!this.separator('}')) {
        this.pos++;
        break;
      }
    }
    return map;
  }

  private sequence(close: string): PyValue[] {
    this.pos++; // '[' or '('
    const items: PyValue[] = [];
    while (!this.closes(close)) {
      items.push(this.value());
      if (!this.separator(close)) {
        this.pos++;
        break;
      }
    }
    return items;
  }

  /** `()` and `(1,)` are tuples; `(1)` is just a parenthesised 1. */
  private tuple(): PyValue {
    const start = this.pos;
    this.pos++;
    if (this.closes(')')) return [];
    const first = this.value();
    if (this.closes(')')) return first;
    this.pos = start;
    return this.sequence(')');
  }

  private keyword(): PyValue {
    const m = /[A-Za-z_]\w*/y;
    m.lastIndex = this.pos;
    const word = m.exec(this.text)![0];
    if (!Object.hasOwn(KEYWORDS, word)) this.fail(`unknown name '${word}'`);
    this.pos += word.length;
    return KEYWORDS[word] as PyValue;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) {
      const c = this.text[this.pos]!;
      this.fail(/[\d.+-]/.test(c) ? 'invalid number' : `unexpected character '${c}'`);
    }
    this.pos += m[0].length;
    const s = m[0];
    if (s.endsWith('inf')) return s.startsWith('-') ? -Infinity : Infinity;
    if (s.endsWith('nan')) return NaN;
    return Number(s);
  }

  private string(): string {
    const t = this.text;
    const quote = t[this.pos]!;
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = t[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated string', start);
      this.pos++;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      out += this.escape();
    }
  }

  /** The character(s) an escape sequence stands for; `pos` is just after the backslash. */
  private escape(): string {
    const t = this.text;
    const at = this.pos - 1;
    const c = t[this.pos++];
    if (c === undefined) this.fail('unterminated string', at);
    if (c === '\n') return ''; // line continuation
    if (Object.hasOwn(SIMPLE_ESCAPES, c)) return SIMPLE_ESCAPES[c] as string;
    const hexLength = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = t.slice(this.pos, this.pos + hexLength);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) this.fail(`bad \\${c} escape`, at);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) this.fail(`bad \\${c} escape`, at);
      this.pos += hexLength;
      return String.fromCodePoint(code);
    }
    if (c >= '0' && c <= '7') {
      const oct = /[0-7]{1,3}/y;
      oct.lastIndex = this.pos - 1;
      const digits = oct.exec(t)![0];
      this.pos += digits.length - 1;
      return String.fromCodePoint(parseInt(digits, 8));
    }
    // Python keeps unknown escapes verbatim, backslash included.
    return '\\' + c;
  }
}
