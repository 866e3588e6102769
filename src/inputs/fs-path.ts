// File names are bytes on Linux, not text: a name written by a Latin-1 camera or an old archive
// tool need not be valid UTF-8. Node decodes such bytes to U+FFFD, and the path it gives back
// then names no file (NOT_FOUND). yolo-serve keeps those bytes the way Python's os.fsdecode does
// ("surrogateescape"): each byte that is not part of valid UTF-8 becomes the lone surrogate
// U+DC80+byte in the path string, and turns back into that byte whenever the path is opened.
// JSON writes a lone surrogate as "\udcXX", so a JSONL record names the file exactly (Python's
// os.fsencode(record["path"]) gives its bytes back).

const LOW_ESCAPE = 0xdc80;

/** The path string for file-name bytes: UTF-8 where valid, U+DC80+byte for every other byte. */
export function pathFromBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  // Only U+FFFD can hide an invalid byte; a name without it decoded exactly.
  if (!text.includes('\ufffd')) return text;
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const len = validSequenceLength(buf, i);
    if (len > 0) {
      out += buf.toString('utf8', i, i + len);
      i += len;
    } else {
      out += String.fromCharCode(LOW_ESCAPE + buf[i]! - 0x80);
      i++;
    }
  }
  return out;
}

/** The argument to hand to node:fs for `p`: the string itself, or its bytes when it carries escapes. */
export function fsPath(p: string): string | Buffer {
  return hasEscapes(p) ? bytesOfPath(p) : p;
}

/** True when `p` holds bytes that are not UTF-8 (escaped by pathFromBytes). */
export function hasEscapes(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= LOW_ESCAPE && c <= 0xdcff && !isHighSurrogate(p.charCodeAt(i - 1))) return true;
  }
  return false;
}

/** The inverse of pathFromBytes. */
export function bytesOfPath(p: string): Buffer {
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= LOW_ESCAPE && c <= 0xdcff && !isHighSurrogate(p.charCodeAt(i - 1))) {
      parts.push(Buffer.from(p.slice(run, i), 'utf8'), Buffer.of(c - LOW_ESCAPE + 0x80));
      run = i + 1;
    }
  }
  parts.push(Buffer.from(p.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Length of the well-formed UTF-8 sequence starting at `i` (RFC 3629), or 0 when there is none. */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}
