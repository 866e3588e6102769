// Python's round(x, ndigits) for floats: the exact binary value rounded to ndigits decimals,
// exact ties to even (CPython uses correctly rounded dtoa). JavaScript's toFixed also rounds the
// exact value but sends exact ties away from zero, so only exact ties need separate handling.
// Ties are common for box coordinates: float32 values such as 12.125 are exact binary ties.

/** round(x, decimals) with CPython semantics, for 0 <= decimals <= 20. */
export function roundDecimals(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return x;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20) {
    throw new RangeError(`roundDecimals: decimals must be an integer in [0, 20], got ${decimals}`);
  }
  if (Math.abs(x) >= 1e21) return x; // beyond toFixed's range; such values are integral anyway
  const scaled = Math.abs(x) * 10 ** decimals;
  const frac = scaled - Math.floor(scaled);
  // Far from .5 there can be no exact tie; toFixed rounds the exact value correctly.
  if (Math.abs(frac - 0.5) > 1e-6) return Number(x.toFixed(decimals));
  // An exact tie has a terminating decimal expansion of decimals+1 digits ending in 5; digits far
  // past that point tell a true tie from a value merely close to one.
  const long = Math.abs(x).toFixed(Math.min(100, decimals + 40));
  const dot = long.indexOf('.');
  const tail = long.slice(dot + 1 + decimals);
  if (!/^50*$/.test(tail)) return Number(x.toFixed(decimals));
  const kept = long.slice(0, dot + 1 + decimals);
  const lastDigit = Number(kept[kept.length - 1] === '.' ? kept[kept.length - 2] : kept[kept.length - 1]);
  const magnitude = lastDigit % 2 === 0 ? Number(kept) : Number(Math.abs(x).toFixed(decimals));
  return x < 0 ? -magnitude : magnitude;
}
