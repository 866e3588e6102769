// A minimal protobuf wire-format reader. It decodes only what the caller asks for and skips
// everything else by moving an offset, so multi-megabyte initializers are never copied.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** The tag of a field, for comparing with `readTag()` (a wrong wire type then simply won't match). */
export function fieldTag(field: number, wire: number): number {
  return field * 8 + wire;
}

export class ProtobufError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtobufError';
  }
}

const utf8 = new TextDecoder('utf-8');

/** Reads one message: the bytes of `buf` in [start, end). Sub-messages are readers over sub-ranges. */
export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's tag; field number is `tag >>> 3`, wire type `tag & 7`. */
  readTag(): number {
    const at = this.pos;
    const tag = this.readVarint();
    if (tag > 0xffffffff) throw new ProtobufError('field tag out of range', at);
    if (tag >>> 3 === 0) throw new ProtobufError('invalid field number 0', at);
    const wire = tag & 7;
    if (wire > WIRE_FIXED32) throw new ProtobufError(`invalid wire type ${wire}`, at);
    return tag;
  }

  /** An unsigned varint as a number (exact up to 2^53, rounded beyond). */
  readVarint(): number {
    const { buf, end } = this;
    const at = this.pos;
    let value = 0;
    let scale = 1;
    // Fast path: up to 7 bytes (49 bits) is exact in a double; anything longer goes through BigInt.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= end) throw new ProtobufError('truncated varint', at);
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    this.pos = at;
    return Number(BigInt.asUintN(64, this.readVarintBig()));
  }

  /** A varint holding a two's-complement int64 (negative values take 10 bytes). */
  readInt64(): number {
    const at = this.pos;
    const v = this.readVarint();
    if (v <= Number.MAX_SAFE_INTEGER) return v;
    this.pos = at;
    return Number(BigInt.asIntN(64, this.readVarintBig()));
  }

  private readVarintBig(): bigint {
    const { buf, end } = this;
    const at = this.pos;
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new ProtobufError('truncated varint', at);
      const b = buf[this.pos++]!;
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return value;
    }
    throw new ProtobufError('varint longer than 10 bytes', at);
  }

  /** The payload of a length-delimited field, as a view (no copy). */
  readBytes(): Uint8Array {
    const start = this.enterLength();
    return this.buf.subarray(start, this.pos);
  }

  readString(): string {
    return utf8.decode(this.readBytes());
  }

  /** A reader over an embedded message's bytes. */
  readMessage(): ProtoReader {
    const start = this.enterLength();
    return new ProtoReader(this.buf, start, this.pos);
  }

  /** Skips the value of a field whose tag has just been read. */
  skip(tag: number): void {
    const at = this.pos;
    switch (tag & 7) {
      case WIRE_VARINT:
        this.readVarint();
        return;
      case WIRE_FIXED64:
        this.advance(8, at);
        return;
      case WIRE_LEN:
        this.enterLength();
        return;
      case WIRE_FIXED32:
        this.advance(4, at);
        return;
      default:
        // Groups are deprecated and never used by ONNX.
        throw new ProtobufError(`unsupported wire type ${tag & 7}`, at);
    }
  }

  /** Reads a length prefix, checks it fits, moves past the payload and returns the payload start. */
  private enterLength(): number {
    const at = this.pos;
    const len = this.readVarint();
    const start = this.pos;
    if (len > this.end - start) {
      throw new ProtobufError(`field length ${len} runs past the end of its message`, at);
    }
    this.pos = start + len;
    return start;
  }

  private advance(n: number, at: number): void {
    if (n > this.end - this.pos) throw new ProtobufError('truncated fixed-width field', at);
    this.pos += n;
  }
}
