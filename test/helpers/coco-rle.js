// COCO RLE for tests, written from pycocotools' maskApi.c (rleEncode, rleToString, rleFrString),
// independent of src/postprocess/rle.ts: masks are row-major Uint8Array w×h here, RLE runs go
// column-major starting with a (possibly empty) run of zeros.

/** Row-major mask → compressed counts string. */
export function encodeMask(mask, w, h) {
  const counts = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  let s = '';
  counts.forEach((c, i) => {
    let x = i > 2 ? c - counts[i - 2] : c;
    for (;;) {
      let ch = x & 0x1f;
      x >>= 5;
      const more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      s += String.fromCharCode(ch + 48);
      if (!more) break;
    }
  });
  return s;
}

/** Compressed counts string → row-major mask. */
export function decodeMask(s, w, h) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  const mask = new Uint8Array(w * h);
  let i = 0;
  counts.forEach((c, j) => {
    for (let n = 0; n < c; n++, i++) if (j % 2 === 1) mask[(i % h) * w + Math.floor(i / h)] = 1;
  });
  if (i !== w * h) throw new Error(`RLE covers ${i} pixels, the mask has ${w * h}`);
  return mask;
}

export function maskIou(a, b) {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
}
