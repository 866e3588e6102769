// IEEE 754 half precision <-> float32, for models with float16 inputs/outputs (Node 20 has no
// Float16Array; onnxruntime takes and returns the raw bits as Uint16Array). Pure integer bit
// manipulation on a Uint32Array view of the floats: no tables, no per-element allocation.

/** float32 → float16 bits, round-to-nearest-even; overflow → ±inf, NaN → quiet NaN, subnormals kept. */
export function float32ToFloat16Bits(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (dst.length < src.length) throw new RangeError(`destination holds ${dst.length} values, need ${src.length}`);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const f = bits[i]!;
    const sign = (f >>> 16) & 0x8000;
    const abs = f & 0x7fffffff;
    let h: number;
    if (abs >= 0x47800000) {
      // |x| >= 65536 (always rounds to inf), inf or NaN
      h = abs > 0x7f800000 ? 0x7e00 : 0x7c00;
    } else if (abs >= 0x38800000) {
      // Normal half (|x| >= 2^-14): rebias the exponent, round the 13 dropped mantissa bits to
      // nearest even. A carry out of the mantissa correctly bumps the exponent (65520 → inf).
      h = (abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13;
    } else if (abs >= 0x33000000) {
      // Subnormal half (2^-25 <= |x| < 2^-14): the 24-bit significand shifted into units of 2^-24.
      const shift = 126 - (abs >>> 23);
      const mant = (abs & 0x7fffff) | 0x800000;
      const rest = mant & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      h = mant >>> shift;
      if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
    } else {
      h = 0; // below half the smallest subnormal (2^-25 itself ties to even, i.e. 0)
    }
    dst[i] = sign | h;
  }
  return dst;
}

/** float16 bits → float32 (exact: every half value is a float32). */
export function float16BitsToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (dst.length < src.length) throw new RangeError(`destination holds ${dst.length} values, need ${src.length}`);
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = h & 0x7c00;
    const mant = h & 0x03ff;
    if (exp === 0x7c00) {
      bits[i] = sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
    } else if (exp !== 0) {
      bits[i] = sign | (((h & 0x7fff) + 0x1c000) << 13); // rebias exponent 15 → 127
    } else if (mant === 0) {
      bits[i] = sign; // ±0
    } else {
      dst[i] = (sign ? -mant : mant) * 5.960464477539063e-8; // subnormal: mant × 2^-24, exact
    }
  }
  return dst;
}
