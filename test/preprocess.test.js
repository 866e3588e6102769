// Preprocessing parity: Python round, Ultralytics LetterBox geometry, cv2.resize INTER_LINEAR on
// 8-bit RGB, and decoding like cv2.imread(IMREAD_COLOR).
//
// Expected resize values marked "cv2" were produced by cv2.resize(src, (w, h),
// interpolation=cv2.INTER_LINEAR) (OpenCV 4.6, x86-64, no IPP) on the literal inputs shown; the
// first ones are also worked by hand in comments. SHA-256 values of real images are of the bytes
// cv2.imread(IMREAD_COLOR) returned (converted BGR->RGB), and of cv2.resize of those.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { pyRound, letterboxGeometry, letterboxInto, letterboxToTensor } from '../dist/preprocess/letterbox.js';
import { decodeImage, decodeBuffer } from '../dist/preprocess/decode.js';
import { requireShared, sharedDir } from './helpers/cli.js';



const PAD = 114 / 255;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Geometry that resizes to exactly w×h with no padding, to test the resize alone. */
function resizeOnly(srcW, srcH, w, h) {
  return { srcW, srcH, dstW: w, dstH: h, newW: w, newH: h, gain: 0, padLeft: 0, padTop: 0, padRight: 0, padBottom: 0 };
}

/** CHW float [0,1] back to HWC uint8 (exact: every value is k/255 in float32). */
function chwToHwc(out, w, h, x0 = 0, y0 = 0, cw = w, ch = h) {
  const plane = w * h;
  const res = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      for (let c = 0; c < 3; c++) res[(y * cw + x) * 3 + c] = Math.round(out[c * plane + (y0 + y) * w + x0 + x] * 255);
    }
  }
  return res;
}

function resize(data, srcW, srcH, w, h) {
  const out = new Float32Array(3 * w * h);
  letterboxInto({ data: Uint8Array.from(data), width: srcW, height: srcH }, resizeOnly(srcW, srcH, w, h), out);
  return Array.from(chwToHwc(out, w, h));
}

// ---------------------------------------------------------------------------------------------
test('pyRound rounds half to even like Python 3 round()', () => {
  assert.equal(pyRound(0.5), 0);
  assert.equal(pyRound(1.5), 2);
  assert.equal(pyRound(2.5), 2);
  assert.equal(pyRound(3.5), 4);
  assert.ok(Object.is(pyRound(-0.5), -0));
  assert.equal(pyRound(-1.5), -2);
  assert.equal(pyRound(-2.5), -2);
  assert.equal(pyRound(2.4999999), 2);
  assert.equal(pyRound(2.5000001), 3);
  assert.equal(pyRound(106.4), 106);
  assert.equal(pyRound(106.6), 107);
  assert.equal(pyRound(7), 7);
});

test('letterboxGeometry: 640x480 -> 640x640 needs no resize, pads 80 above and below', () => {
  assert.deepEqual(letterboxGeometry(640, 480, 640, 640), {
    srcW: 640, srcH: 480, dstW: 640, dstH: 640, newW: 640, newH: 480, gain: 1,
    padLeft: 0, padTop: 80, padRight: 0, padBottom: 80,
  });
});

test('letterboxGeometry: 810x1080 (bus.jpg) -> 480x640 with 80 px each side', () => {
  const g = letterboxGeometry(810, 1080, 640, 640);
  assert.equal(g.gain, 640 / 1080);
  assert.equal(g.gain.toFixed(4), '0.5926');
  assert.deepEqual([g.newW, g.newH, g.padLeft, g.padRight, g.padTop, g.padBottom], [480, 640, 80, 80, 0, 0]);
});

test('letterboxGeometry: 1280x720 (zidane.jpg) -> 640x360, 140 above and below', () => {
  const g = letterboxGeometry(1280, 720, 640, 640);
  assert.deepEqual([g.gain, g.newW, g.newH, g.padTop, g.padBottom, g.padLeft, g.padRight], [0.5, 640, 360, 140, 140, 0, 0]);
});

test('letterboxGeometry: odd padding splits with the -0.1/+0.1 rule (640x427: 106 top, 107 bottom)', () => {
  const g = letterboxGeometry(640, 427, 640, 640);
  assert.deepEqual([g.newW, g.newH, g.padTop, g.padBottom, g.padLeft, g.padRight], [640, 427, 106, 107, 0, 0]);
  const h = letterboxGeometry(427, 640, 640, 640);
  assert.deepEqual([h.newW, h.newH, h.padLeft, h.padRight, h.padTop, h.padBottom], [427, 640, 106, 107, 0, 0]);
  // 500x375 scales up by 1.28 to exactly 640x480.
  const k = letterboxGeometry(500, 375, 640, 640);
  assert.deepEqual([k.newW, k.newH, k.padTop, k.padBottom], [640, 480, 80, 80]);
});

test('letterboxGeometry: new size uses half-to-even rounding (1280x5 -> height 2, 1280x7 -> 4)', () => {
  // r = 0.5: 5*0.5 = 2.5 -> 2 (Math.round would say 3); 7*0.5 = 3.5 -> 4.
  const a = letterboxGeometry(1280, 5, 640, 640);
  assert.deepEqual([a.newW, a.newH, a.padTop, a.padBottom], [640, 2, 319, 319]);
  const b = letterboxGeometry(1280, 7, 640, 640);
  assert.deepEqual([b.newW, b.newH, b.padTop, b.padBottom], [640, 4, 318, 318]);
});

test('letterboxGeometry: non-square destination (640x480 into w=480, h=640)', () => {
  const g = letterboxGeometry(640, 480, 480, 640);
  assert.deepEqual([g.gain, g.newW, g.newH, g.padLeft, g.padRight, g.padTop, g.padBottom], [0.75, 480, 360, 0, 0, 140, 140]);
});

test('letterboxGeometry: 3775x1571 at 1280 (the case behind Ultralytics PR #23967)', () => {
  const g = letterboxGeometry(3775, 1571, 1280, 1280);
  assert.deepEqual([g.newW, g.newH, g.padTop, g.padBottom, g.padLeft, g.padRight], [1280, 533, 373, 374, 0, 0]);
});

test('letterboxGeometry rejects non-positive or fractional sizes', () => {
  assert.throws(() => letterboxGeometry(0, 10, 640, 640), RangeError);
  assert.throws(() => letterboxGeometry(10, 10.5, 640, 640), RangeError);
  assert.throws(() => letterboxGeometry(10, 10, 640, -1), RangeError);
});

// ---------------------------------------------------------------------------------------------
test('letterboxInto: identity copy, 114 padding, CHW planar RGB order', () => {
  // 4x2 image into 4x4: no resize, one pad row above and one below.
  const data = Uint8Array.from([
    0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32,
    40, 41, 42, 50, 51, 52, 60, 61, 62, 255, 254, 253,
  ]);
  const g = letterboxGeometry(4, 2, 4, 4);
  assert.deepEqual([g.newW, g.newH, g.padTop, g.padBottom], [4, 2, 1, 1]);
  const out = new Float32Array(3 * 16);
  letterboxInto({ data, width: 4, height: 2 }, g, out);
  const f = (v) => Math.fround(v / 255);
  const P = Math.fround(PAD);
  assert.deepEqual(Array.from(out), [
    // R plane
    P, P, P, P,
    f(0), f(10), f(20), f(30),
    f(40), f(50), f(60), f(255),
    P, P, P, P,
    // G plane
    P, P, P, P,
    f(1), f(11), f(21), f(31),
    f(41), f(51), f(61), f(254),
    P, P, P, P,
    // B plane
    P, P, P, P,
    f(2), f(12), f(22), f(32),
    f(42), f(52), f(62), f(253),
    P, P, P, P,
  ]);
  assert.equal(out[0], Math.fround(114 / 255)); // exactly torch's float32(114)/255
});

test('letterboxInto: odd padding places the image at (left, top) = floor side (3x1 into 3x4: top 1, bottom 2)', () => {
  const g = letterboxGeometry(3, 1, 3, 4);
  assert.deepEqual([g.padTop, g.padBottom], [1, 2]);
  const out = new Float32Array(3 * 12);
  letterboxInto({ data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]), width: 3, height: 1 }, g, out);
  const P = Math.fround(PAD);
  assert.deepEqual(Array.from(out.subarray(0, 12)), [P, P, P, 1, 0, 0, P, P, P, P, P, P]);
  assert.deepEqual(Array.from(out.subarray(12, 24)), [P, P, P, 0, 1, 0, P, P, P, P, P, P]);
  assert.deepEqual(Array.from(out.subarray(24, 36)), [P, P, P, 0, 0, 1, P, P, P, P, P, P]);
});

const A = [10, 20, 30, 50, 60, 70, 90, 100, 110, 130, 140, 250]; // 2x2 RGB

test('bilinear 2x2 -> 4x4 matches cv2.resize INTER_LINEAR', () => {
  // Worked by hand for R at (x=1, y=0): fx = 1.5*0.5-0.5 = 0.25 -> a = (1536, 512);
  // fy = -0.25 -> row -1 (clamped to 0), fraction 0.75 -> b = (512, 1536).
  // h = (10*1536 + 50*512) >> 4 = 2560; ((512*2560)>>16) + ((1536*2560)>>16) = 20 + 60; (80+2)>>2 = 20.
  // B at (1,1): h0 = (30*1536+70*512)>>4 = 5120, h1 = (110*1536+250*512)>>4 = 18560,
  // b = (1536, 512): 120 + 145 = 265; (265+2)>>2 = 66.
  const cv2 = [
    10, 20, 30, 20, 30, 40, 40, 50, 60, 50, 60, 70,
    30, 40, 50, 40, 50, 66, 60, 70, 99, 70, 80, 115,
    70, 80, 90, 80, 90, 119, 100, 110, 176, 110, 120, 205,
    90, 100, 110, 100, 110, 145, 120, 130, 215, 130, 140, 250,
  ];
  assert.deepEqual(resize(A, 2, 2, 4, 4), cv2);
});

test('bilinear 4x4 -> 2x2 (exact 2x, OpenCV INTER_AREA fast path) matches cv2', () => {
  const B = [];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) B.push((y * 4 + x) * 16 + c * 5);
  // (0 + 16 + 64 + 80 + 2) >> 2 = 40 for R at (0,0).
  assert.deepEqual(resize(B, 4, 4, 2, 2), [40, 45, 50, 72, 77, 82, 168, 173, 178, 200, 205, 210]);
});

test('bilinear non-integer scales (5x3 -> 3x2 and 5x3 -> 7x4) match cv2', () => {
  const C = Array.from({ length: 45 }, (_, i) => (i * 37 + 11) % 256);
  assert.deepEqual(resize(C, 5, 3, 3, 2), [59, 96, 133, 180, 25, 62, 172, 167, 76, 123, 160, 133, 52, 89, 126, 109, 104, 141]);
  assert.deepEqual(resize(C, 5, 3, 7, 4), [
    11, 48, 85, 74, 111, 148, 153, 117, 155, 233, 14, 51, 129, 93, 130, 135, 173, 100, 199, 236, 17,
    38, 75, 112, 101, 138, 175, 135, 144, 181, 100, 41, 78, 111, 120, 157, 162, 131, 127, 226, 103, 44,
    70, 107, 144, 133, 171, 153, 139, 177, 145, 36, 73, 110, 115, 152, 189, 153, 122, 159, 162, 39, 76,
    97, 134, 171, 160, 197, 88, 167, 203, 57, 63, 100, 137, 142, 179, 216, 112, 149, 186, 29, 66, 103,
  ]);
});

test('letterboxInto: resized image lands at (padLeft, padTop) inside the padding', () => {
  // 2x2 into 8x4: r = min(4/2, 8/2) = 2 -> 4x4 at left = round(2/2 - 0.1) = 1, right = 1.
  const g = letterboxGeometry(2, 2, 6, 4);
  assert.deepEqual([g.newW, g.newH, g.padLeft, g.padRight, g.padTop, g.padBottom], [4, 4, 1, 1, 0, 0]);
  const out = new Float32Array(3 * 24);
  letterboxInto({ data: Uint8Array.from(A), width: 2, height: 2 }, g, out);
  assert.deepEqual(Array.from(chwToHwc(out, 6, 4, 1, 0, 4, 4)), resize(A, 2, 2, 4, 4));
  const P = Math.fround(PAD);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 4; y++) {
      assert.equal(out[c * 24 + y * 6], P);
      assert.equal(out[c * 24 + y * 6 + 5], P);
    }
  }
});

test('letterboxInto writes at an offset (batch slot) and nowhere else', () => {
  const g = letterboxGeometry(2, 2, 4, 4);
  const out = new Float32Array(2 * 3 * 16).fill(-1);
  letterboxInto({ data: Uint8Array.from(A), width: 2, height: 2 }, g, out, 48);
  assert.ok(out.subarray(0, 48).every((v) => v === -1));
  assert.deepEqual(Array.from(chwToHwc(out.subarray(48), 4, 4)), resize(A, 2, 2, 4, 4));
});

test('letterboxInto validates sizes', () => {
  const g = letterboxGeometry(2, 2, 4, 4);
  const img = { data: Uint8Array.from(A), width: 2, height: 2 };
  assert.throws(() => letterboxInto(img, g, new Float32Array(47)), RangeError);
  assert.throws(() => letterboxInto(img, g, new Float32Array(48), 1), RangeError);
  assert.throws(() => letterboxInto({ ...img, width: 3 }, g, new Float32Array(48)), RangeError);
});

test('letterboxToTensor returns a fresh 3xHxW tensor and the geometry', () => {
  const { tensor, geometry } = letterboxToTensor({ data: Uint8Array.from(A), width: 2, height: 2 }, 4, 4);
  assert.equal(tensor.length, 48);
  assert.deepEqual(geometry, letterboxGeometry(2, 2, 4, 4));
  assert.deepEqual(Array.from(chwToHwc(tensor, 4, 4)), resize(A, 2, 2, 4, 4));
});

// ---------------------------------------------------------------------------------------------
let tmp;
test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'yolo-serve-pre-'));
});
test.after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});
const opts = { maxPixels: 1e8 };

async function decodedOk(p) {
  const r = await decodeImage(p, opts);
  assert.equal(r.ok, true, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
  return r.image;
}

test('decode: grayscale PNG becomes 3 equal channels', async () => {
  const p = path.join(tmp, 'gray.png');
  await writeFile(p, await sharp(Buffer.from([0, 50, 100, 150, 200, 255]), { raw: { width: 3, height: 2, channels: 1 } }).png().toBuffer());
  const img = await decodedOk(p);
  assert.deepEqual([img.width, img.height], [3, 2]);
  assert.deepEqual(Array.from(img.data), [0, 0, 0, 50, 50, 50, 100, 100, 100, 150, 150, 150, 200, 200, 200, 255, 255, 255]);
});

test('decode: PNG alpha is dropped without blending (cv2 IMREAD_COLOR)', async () => {
  const p = path.join(tmp, 'alpha.png');
  await writeFile(p, await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 128]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer());
  const img = await decodedOk(p);
  assert.deepEqual(Array.from(img.data), [10, 20, 30, 40, 50, 60]);
});

test('decode: 16-bit PNG keeps the high byte, like cv2 (0x1234 -> 0x12)', async () => {
  const p = path.join(tmp, 'rgb16.png');
  const px = new Uint16Array([0x1234, 0xabcd, 0x00ff, 0xff00, 0x8080, 0x7fff]);
  await writeFile(p, await sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer());
  assert.equal((await sharp(p).metadata()).depth, 'ushort');
  const img = await decodedOk(p);
  assert.deepEqual(Array.from(img.data), [0x12, 0xab, 0x00, 0xff, 0x80, 0x7f]);
});

test('decode: 16-bit grayscale PNG', async () => {
  const p = path.join(tmp, 'grey16.png');
  await writeFile(p, await sharp(new Uint16Array([0x0102, 0x8899, 0xfffe]), { raw: { width: 3, height: 1, channels: 1 } }).toColourspace('grey16').png().toBuffer());
  const img = await decodedOk(p);
  assert.deepEqual(Array.from(img.data), [1, 1, 1, 0x88, 0x88, 0x88, 255, 255, 255]);
});

test('decode: CMYK JPEG becomes 3-channel sRGB', async () => {
  const p = path.join(tmp, 'cmyk.jpg');
  await writeFile(p, await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 50, b: 20 } } }).toColourspace('cmyk').jpeg().toBuffer());
  assert.equal((await sharp(p).metadata()).space, 'cmyk');
  const img = await decodedOk(p);
  assert.deepEqual([img.width, img.height, img.data.length], [8, 8, 8 * 8 * 3]);
  // Colour conversion differs from OpenCV's naive CMYK formula; only the hue is asserted.
  const [r, g, b] = img.data;
  assert.ok(r > 150 && g < 90 && b < 60, `got ${r},${g},${b}`);
});

test('decode: EXIF orientation 6 rotates 90° clockwise (exact pixels, PNG)', async () => {
  // 3x2: row0 = R G B, row1 = W K grey9. Rotated CW to 2x3: rows [W R], [K G], [9 B].
  const raw = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 9, 9, 9]);
  const p = path.join(tmp, 'orient6.png');
  await writeFile(p, await sharp(raw, { raw: { width: 3, height: 2, channels: 3 } }).png().withMetadata({ orientation: 6 }).toBuffer());
  assert.equal((await sharp(p).metadata()).orientation, 6);
  const img = await decodedOk(p);
  assert.deepEqual([img.width, img.height], [2, 3]);
  assert.deepEqual(Array.from(img.data), [255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 255, 0, 9, 9, 9, 0, 0, 255]);
});

test('decode: EXIF orientation 6 JPEG swaps width and height', async () => {
  // 32x16, left half red, right half blue; upright it is 16x32 with red on top.
  const w = 32, h = 16;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  const p = path.join(tmp, 'orient6.jpg');
  await writeFile(p, await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
  const img = await decodedOk(p);
  assert.deepEqual([img.width, img.height], [16, 32]);
  const px = (x, y) => Array.from(img.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
  const near = (got, want) => got.every((v, i) => Math.abs(v - want[i]) <= 12);
  assert.ok(near(px(8, 4), [255, 0, 0]), `top ${px(8, 4)}`);
  assert.ok(near(px(8, 27), [0, 0, 255]), `bottom ${px(8, 27)}`);
});

test('decode: animated GIF gives its first frame', async () => {
  const p = path.join(tmp, 'anim.gif');
  const frames = [
    { create: { width: 2, height: 2, channels: 3, background: { r: 255, g: 0, b: 0 } } },
    { create: { width: 2, height: 2, channels: 3, background: { r: 0, g: 0, b: 255 } } },
  ];
  await writeFile(p, await sharp(frames, { join: { animated: true } }).gif().toBuffer());
  assert.equal((await sharp(p).metadata()).pages, 2);
  const img = await decodedOk(p);
  assert.deepEqual([img.width, img.height], [2, 2]);
  assert.deepEqual(Array.from(img.data), [255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0]);
});

test('decode errors are values with stable codes and the file name', async () => {
  const empty = path.join(tmp, 'empty.jpg');
  await writeFile(empty, Buffer.alloc(0));
  const text = path.join(tmp, 'text.jpg');
  await writeFile(text, 'this is not a JPEG\n');
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 99, b: 199 } } }).jpeg().toBuffer();
  const truncated = path.join(tmp, 'truncated.jpg');
  await writeFile(truncated, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  const dir = path.join(tmp, 'a-directory.jpg');
  await mkdir(dir);
  const big = path.join(tmp, 'big.png');
  await writeFile(big, await sharp({ create: { width: 20, height: 20, channels: 3, background: 'white' } }).png().toBuffer());

  const cases = [
    [empty, opts, 'EMPTY_FILE'],
    [text, opts, 'DECODE_FAILED'],
    [truncated, opts, 'DECODE_FAILED'],
    [path.join(tmp, 'missing.jpg'), opts, 'NOT_FOUND'],
    [path.join(tmp, 'empty.jpg', 'below-a-file.jpg'), opts, 'NOT_FOUND'],
    [dir, opts, 'IS_DIRECTORY'],
    [big, { maxPixels: 399 }, 'TOO_LARGE'],
  ];
  for (const [p, o, code] of cases) {
    const r = await decodeImage(p, o);
    assert.equal(r.ok, false, `${p} should fail`);
    assert.equal(r.error.code, code, `${p}: ${r.error.message}`);
    assert.ok(r.error.message.includes(p), `message names the file: ${r.error.message}`);
  }
  const tooLarge = await decodeImage(big, { maxPixels: 399 });
  assert.match(tooLarge.error.message, /20x20/);
  // A cut-off JPEG is named as such every time, whatever libvips' shared error buffer held.
  for (let i = 0; i < 4; i++) {
    const results = await Promise.all([truncated, truncated, text].map((f) => decodeImage(f, opts)));
    assert.match(results[0].error.message, /: cannot decode image \(truncated JPEG: no end-of-image marker/);
    assert.match(results[1].error.message, /: cannot decode image \(truncated JPEG: no end-of-image marker/);
    assert.doesNotMatch(results[2].error.message, /truncated/, 'a text file is not called a truncated JPEG');
  }
  // Trailing zero padding after the end-of-image marker still counts as a whole JPEG.
  const padded = path.join(tmp, 'padded.jpg');
  await writeFile(padded, Buffer.concat([jpeg, Buffer.alloc(16)]));
  assert.equal((await decodeImage(padded, opts)).ok, true);
  // Exactly at the limit is fine.
  assert.equal((await decodeImage(big, { maxPixels: 400 })).ok, true);
});

test('decode: unreadable file is UNREADABLE', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: permissions cannot make a file unreadable');
    return;
  }
  const { chmod } = await import('node:fs/promises');
  const p = path.join(tmp, 'secret.png');
  await writeFile(p, await sharp({ create: { width: 2, height: 2, channels: 3, background: 'black' } }).png().toBuffer());
  await chmod(p, 0o000);
  const r = await decodeImage(p, opts);
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'UNREADABLE');
});

test('decodeBuffer labels errors with the given name', async () => {
  const r = await decodeBuffer(Buffer.from('nope'), 'memory://x.jpg', opts);
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'DECODE_FAILED');
  assert.match(r.error.message, /^memory:\/\/x\.jpg: /);
  const e = await decodeBuffer(new Uint8Array(0), 'memory://empty', opts);
  assert.equal(e.error.code, 'EMPTY_FILE');
});

// ---------------------------------------------------------------------------------------------
test('shared: grayscale coco128 JPEG decodes to the same bytes as cv2.imread', async (t) => {
  if (!(requireShared(t))) return;
  const img = await decodedOk(path.join(sharedDir, 'images/coco128/000000000086.jpg'));
  assert.deepEqual([img.width, img.height], [512, 640]);
  for (let i = 0; i < img.data.length; i += 3) {
    if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) assert.fail(`pixel ${i / 3} is not grey`);
  }
  assert.equal(sha256(img.data), 'b6e541854e3ecc9f527ced076934b5ae57ce8917432f9c5a61232b738e201349');
});

test('shared: progressive messi.jpg decodes and letterboxes like cv2', async (t) => {
  if (!(requireShared(t))) return;
  const img = await decodedOk(path.join(sharedDir, 'images/samples/messi.jpg'));
  assert.deepEqual([img.width, img.height], [968, 630]);
  assert.equal(sha256(img.data), '5883eafce26cf1b2201672ecb3a69ae5b30b11ec1e016ea1c44c74553c246f88');
  const { tensor, geometry: g } = letterboxToTensor(img, 640, 640);
  assert.deepEqual([g.newW, g.newH, g.padTop, g.padBottom], [640, 417, 111, 112]);
  assert.equal(sha256(chwToHwc(tensor, 640, 640, g.padLeft, g.padTop, g.newW, g.newH)), '9094c5ee1cb8e3a50682d7762f77ab08dc90832bc0647b9791a5d8603f0a18ca');
});

test('shared: bus.jpg and zidane.jpg letterbox byte-identical to cv2.imread + cv2.resize', async (t) => {
  if (!(requireShared(t))) return;
  const cases = [
    ['bus.jpg', 'e8c11e7a7a688f702248c945bee11e2982f3da93654c143fe45f8380f3630cf0', '18ae28b1adb0803e2c9d6bb1493908d49baae79667faa2b716d280dfb15bed81'],
    ['zidane.jpg', 'eecf91cfd4101dc21e41c96d22e4ea3ccb2756dd7b7332e4585c7fa36c34a30c', 'b6eb974ad9d786d70835156687d30afad78d3d9c9fcccb0f2391899d21edd9db'],
  ];
  for (const [name, decodedHash, resizedHash] of cases) {
    const img = await decodedOk(path.join(sharedDir, 'images/samples', name));
    assert.equal(sha256(img.data), decodedHash, `${name} decode`);
    const { tensor, geometry: g } = letterboxToTensor(img, 640, 640);
    assert.equal(sha256(chwToHwc(tensor, 640, 640, g.padLeft, g.padTop, g.newW, g.newH)), resizedHash, `${name} resize`);
  }
});
