// Drawing geometry (src/draw/): Ultralytics' palette and line width, label placement kept inside
// the image, keypoint and limb rules, save_one_box's crop, the SVG pieces, and real pixels out of
// sharp (a box outline in the class colour, a label, a translucent mask, an untouched interior).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';

import { CLASS_PALETTE, COCO_SKELETON, LABEL_TEXT_ON_LIGHT, classColor, labelTextColor } from '../dist/draw/palette.js';
import { cropRect, fitMaxSide, labelStyle, lineWidth, placeLabel, pyRound, textWidth } from '../dist/draw/geometry.js';
import { escapeXml, labelWidth, overlaySvg, paintStroke, planOverlay } from '../dist/draw/overlay.js';
import { annotateImage, cropImage } from '../dist/draw/render.js';

const det = (over = {}) => ({ name: 'person', class: 0, confidence: 0.87, box: { x1: 100, y1: 120, x2: 300, y2: 400 }, ...over });

test('palette: Ultralytics Colors order, modulo 20, dark text on light boxes', () => {
  assert.equal(CLASS_PALETTE.length, 20);
  assert.deepEqual(classColor(0), [0x04, 0x2a, 0xff]);
  assert.deepEqual(classColor(1), [0x0b, 0xdb, 0xeb]);
  assert.deepEqual(classColor(19), [0xa2, 0xff, 0x0b]);
  assert.deepEqual(classColor(21), classColor(1));
  assert.deepEqual(classColor(-1), classColor(19));
  // 0BDBEB is in Annotator.dark_colors (as BGR 235,219,11): dark blue text; 042AFF gets white.
  assert.deepEqual(labelTextColor(classColor(1)), LABEL_TEXT_ON_LIGHT);
  assert.deepEqual(labelTextColor(classColor(0)), [255, 255, 255]);
});

test('line width: max(round(sum(shape) / 2 * 0.003), 2) with numpy shape (h, w, 3) and Python rounding', () => {
  assert.equal(pyRound(2.5), 2);
  assert.equal(pyRound(3.5), 4);
  assert.equal(pyRound(4.5045), 5);
  assert.equal(lineWidth(640, 480), 2); // 1123/2*0.003 = 1.68 → 2
  assert.equal(lineWidth(1920, 1080), 5); // 3003/2*0.003 = 4.5045 → 5
  assert.equal(lineWidth(4000, 3000), 11); // 10.5045 → 11
  assert.equal(lineWidth(32, 32), 2); // never below 2
  const s = labelStyle(2);
  assert.equal(s.textHeight, 15); // 22 × 2/3
  assert.equal(s.boxHeight, 18); // + 3 px padding
});

test('label placement: above the box when it fits, inside when not, never outside the image', () => {
  // Fits above.
  assert.deepEqual(placeLabel(100, 120, 80, 18, 640, 480), { x: 100, y: 102, w: 80, h: 18, outside: true });
  // Box at the top edge: the label goes inside, below the top line.
  const top = placeLabel(100, 5, 80, 18, 640, 480);
  assert.equal(top.outside, false);
  assert.equal(top.y, 5);
  // Past the right edge: shifted left so it ends at the edge (Annotator's rule).
  assert.equal(placeLabel(600, 100, 80, 18, 640, 480).x, 560);
  // Wider than the image: pinned to x = 0 (Annotator would go negative).
  assert.equal(placeLabel(10, 100, 900, 18, 640, 480).x, 0);
  // A box near the bottom of a tiny image: the label stays inside.
  const tiny = placeLabel(2, 3, 30, 18, 40, 12);
  assert.ok(tiny.y >= 0 && tiny.x >= 0);
  // Every placement over a grid of anchors stays inside the image.
  for (let x = -50; x <= 700; x += 37) {
    for (let y = -30; y <= 520; y += 29) {
      const r = placeLabel(x, y, 120, 18, 640, 480);
      assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= 640 && r.y + r.h <= 480, `anchor ${x},${y} → ${JSON.stringify(r)}`);
    }
  }
});

test('label text width grows with the text and the font, and the SVG pins the text to it', () => {
  assert.ok(textWidth('person 0.87', 20) > textWidth('cat 0.87', 20));
  assert.ok(textWidth('person 0.87', 30) > textWidth('person 0.87', 20));
  const svg = overlaySvg([det()], { width: 640, height: 480, scale: 1 });
  const w = labelWidth('person 0.87', labelStyle(2).fontPx);
  assert.match(svg, new RegExp(`textLength="${w}"`));
  assert.match(svg, />person 0\.87</);
});

test('crop: save_one_box region (×1.02 + 10 px about the centre), truncated and clipped', () => {
  // 200×280 box centred at (200, 260): 214×295.6 → x 93..307, y 112..407.
  assert.deepEqual(cropRect({ x1: 100, y1: 120, x2: 300, y2: 400 }, 640, 480), { left: 93, top: 112, width: 214, height: 295 });
  // At the image corner: clipped, never empty.
  const r = cropRect({ x1: 0, y1: 0, x2: 0.5, y2: 0.5 }, 640, 480);
  assert.equal(r.left, 0);
  assert.equal(r.top, 0);
  assert.ok(r.width >= 1 && r.height >= 1 && r.width <= 640);
  const edge = cropRect({ x1: 630, y1: 470, x2: 640, y2: 480 }, 640, 480);
  assert.ok(edge.left + edge.width <= 640 && edge.top + edge.height <= 480);
});

test('fitMaxSide', () => {
  assert.deepEqual(fitMaxSide(4000, 3000, 1000), { width: 1000, height: 750, scale: 0.25 });
  assert.deepEqual(fitMaxSide(640, 480, 1000), { width: 640, height: 480, scale: 1 });
  assert.deepEqual(fitMaxSide(640, 480, null), { width: 640, height: 480, scale: 1 });
});

test('overlay: masks, rotated boxes, COCO skeleton; low-confidence keypoints and limbs left out; data escaped', () => {
  const kx = [];
  const ky = [];
  const kv = [];
  for (let i = 0; i < 17; i++) {
    kx.push(200 + i * 5);
    ky.push(150 + i * 10);
    kv.push(i === 0 ? 0.1 : 0.9); // the nose is not visible
  }
  const dets = [
    det({ segments: { x: [100, 300, 250], y: [120, 130, 390] } }),
    det({ name: 'plane', class: 4, obb: { x1: 10, y1: 10, x2: 60, y2: 20, x3: 50, y3: 70, x4: 0, y4: 60 } }),
    det({ keypoints: { x: kx, y: ky, visible: kv } }),
    det({ name: '<script>alert(1)</script>', class: 3 }),
  ];
  const svg = overlaySvg(dets, { width: 640, height: 480, scale: 1 });
  assert.match(svg, /<polygon points="100,120 300,130 250,390" fill="rgb\(4,42,255\)" fill-opacity="0.5"\/>/);
  assert.match(svg, /<polygon points="10,10 60,20 50,70 0,60" fill="none" stroke="rgb\(17,31,104\)"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 16, 'the nose at confidence 0.1 is not drawn');
  // Limbs touching the nose (0) are skipped: the skeleton's pairs with both ends visible.
  const limbs = COCO_SKELETON.filter(([a, b]) => a !== 0 && b !== 0).length;
  assert.equal((svg.match(/<line /g) ?? []).length, limbs);
  assert.ok(!svg.includes('<script>'));
  assert.match(svg, /&lt;script&gt;alert\(1\)&lt;\/script&gt; 0\.87/);
  assert.equal(escapeXml(`a&b<c>"d'\u0001`), 'a&amp;b&lt;c&gt;&quot;d&#39;');
});

test('overlay plan: box outlines are painted, pieces stay inside the image and keep their order', () => {
  const dets = [det(), det({ box: { x1: 600, y1: 0, x2: 700, y2: 50 } }), det({ box: { x1: -20, y1: 400, x2: 30, y2: 500 } })];
  const plan = planOverlay(dets, { width: 640, height: 480, scale: 1 });
  assert.equal(plan.strokes.length, 3);
  for (const p of plan.pieces) {
    assert.ok(p.left >= 0 && p.top >= 0 && p.left + p.width <= 640 && p.top + p.height <= 480, JSON.stringify(p));
    assert.match(p.svg, new RegExp(`width="${p.width}" height="${p.height}" viewBox="${p.left} ${p.top} ${p.width} ${p.height}"`));
  }
  const labels = plan.pieces.flatMap((p) => p.svg.match(/>person 0\.87</g) ?? []);
  assert.equal(labels.length, 3);
});

test('paintStroke: an lw-wide outline centred on the box edges, clipped, interior untouched', () => {
  const W = 20;
  const H = 10;
  const px = new Uint8Array(W * H * 3);
  paintStroke(px, W, H, { x1: 5, y1: 3, x2: 15, y2: 8, width: 2, color: [255, 0, 0] });
  const red = (x, y) => px[(y * W + x) * 3] === 255;
  assert.ok(red(4, 2) && red(5, 3) && red(15, 8) && red(14, 7), 'edges painted, one pixel either side');
  assert.ok(!red(3, 1) && !red(16, 9) && !red(10, 5) && !red(6, 4), 'outside and inside untouched');
  // Off the image: no throw, nothing outside written.
  paintStroke(px, W, H, { x1: -5, y1: -5, x2: 30, y2: 30, width: 4, color: [0, 255, 0] });
  assert.equal(px.length, W * H * 3);
});

test('annotateImage: real pixels — outline in the class colour, label, translucent mask, original untouched; cropImage', async () => {
  const W = 320;
  const H = 240;
  const data = new Uint8Array(W * H * 3).fill(128);
  const image = { data, width: W, height: H };
  const box = { x1: 60, y1: 60, x2: 200, y2: 200 };
  const dets = [
    { name: 'person', class: 0, confidence: 0.9, box },
    { name: 'bus', class: 5, confidence: 0.5, box: { x1: 220, y1: 100, x2: 300, y2: 220 }, segments: { x: [220, 300, 300, 220], y: [100, 100, 220, 220] } },
  ];
  const jpeg = await annotateImage(image, dets, { maxSide: null, quality: 95, format: 'png' });
  const { data: out, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [W, H]);
  const at = (x, y) => [...out.subarray((y * W + x) * info.channels, (y * W + x) * info.channels + 3)];
  assert.deepEqual(at(60, 130), [4, 42, 255], 'left edge in class 0 colour');
  assert.deepEqual(at(130, 130), [128, 128, 128], 'inside the box untouched');
  // The label sits above the box (y 42..60) and is filled with the class colour where there is no text.
  const labelPixels = [];
  for (let x = 60; x < 130; x++) for (const y of [44, 50, 55]) labelPixels.push(at(x, y));
  assert.ok(labelPixels.some((p) => p[0] === 4 && p[1] === 42 && p[2] === 255), 'label box in class colour');
  assert.ok(labelPixels.some((p) => p[0] > 200 && p[1] > 200 && p[2] > 200), 'white label text');
  // Mask: 50% of FF6FDD over grey 128.
  const m = at(260, 180);
  assert.ok(Math.abs(m[0] - (255 + 128) / 2) <= 2 && Math.abs(m[1] - (111 + 128) / 2) <= 2 && Math.abs(m[2] - (221 + 128) / 2) <= 2, `mask pixel ${m}`);
  assert.ok(data.every((v) => v === 128), 'the decoded image is not modified');

  const small = await annotateImage(image, dets, { maxSide: 160, quality: 80 });
  const meta = await sharp(small).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 160, 120]);

  const crop = await cropImage(image, dets[0], 95);
  const cm = await sharp(crop).metadata();
  const r = cropRect(box, W, H);
  assert.deepEqual([cm.width, cm.height], [r.width, r.height]);
});

test('label tiles: the same label as the SVG path, painted from a bounded cache of name and character tiles', async () => {
  const { LabelTiles } = await import('../dist/draw/label-tiles.js');
  const { labelTileTexts, labelWidth } = await import('../dist/draw/overlay.js');
  assert.deepEqual(labelTileTexts('dining table 0.65'), ['dining table', ' ', '0', '.', '6', '5']);
  const W = 320;
  const H = 240;
  const image = { data: new Uint8Array(W * H * 3).fill(128), width: W, height: H };
  const dets = [det({ box: { x1: 40, y1: 60, x2: 200, y2: 200 } }), det({ name: 'bus', class: 5, confidence: 0.5, box: { x1: 250, y1: 5, x2: 320, y2: 100 } })];
  const tiles = new LabelTiles();
  const decode = async (buf) => (await sharp(buf).raw().toBuffer({ resolveWithObject: true })).data;
  const a = await decode(await annotateImage(image, dets, { maxSide: null, quality: 95, format: 'png', tiles }));
  const b = await decode(await annotateImage(image, dets, { maxSide: null, quality: 95, format: 'png' }));
  // Same box geometry: the label boxes cover the same pixels (text rendering may differ slightly).
  const style = labelStyle(2);
  const w = labelWidth('person 0.87', style.fontPx);
  const labelArea = (px) => {
    let coloured = 0;
    for (let y = 60 - style.boxHeight; y < 60; y++) for (let x = 40; x < 40 + w; x++) {
      const o = (y * W + x) * 3;
      if (px[o] !== 128 || px[o + 1] !== 128 || px[o + 2] !== 128) coloured++;
    }
    return coloured;
  };
  assert.equal(labelArea(a), w * style.boxHeight, 'tile label fills its box');
  assert.equal(labelArea(b), w * style.boxHeight, 'SVG label fills the same box');
  // Pixels outside the labels are identical.
  let differ = 0;
  for (let y = 100; y < H; y++) for (let x = 0; x < W * 3; x++) if (a[y * W * 3 + x] !== b[y * W * 3 + x]) differ++;
  assert.equal(differ, 0);
  // The bus label is pushed inside the image at the right edge.
  const busW = labelWidth('bus 0.50', style.fontPx);
  const at = (x, y) => [...a.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)];
  assert.deepEqual(at(W - 1, 6), [0xff, 0x6f, 0xdd], 'the bus label reaches the right edge in its class colour');
  assert.deepEqual(at(W - busW, 6), [0xff, 0x6f, 0xdd], 'and starts busW pixels left of it');
  assert.deepEqual(at(W - busW - 1, 6), [128, 128, 128]);
});

test('classification records: the top-5 listed down the top-left corner', () => {
  const classes = [
    { class: 281, name: 'tabby', confidence: 0.61 },
    { class: 285, name: 'Egyptian cat', confidence: 0.2 },
  ];
  const plan = planOverlay([], { width: 640, height: 480, scale: 1, labels: 'painted', classes });
  assert.deepEqual(
    plan.labels.map((l) => [l.text, l.x, l.y]),
    [
      ['tabby 0.61', 2, 2],
      ['Egyptian cat 0.20', 2, 20],
    ],
  );
  assert.match(overlaySvg([], { width: 640, height: 480, scale: 1, classes }), />Egyptian cat 0\.20</);
});

/** pycocotools rleToString, written here independently of src/draw/rle.ts. */
function encodeRle(mask, h, w) {
  const counts = [];
  let value = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x];
      if (v !== value) {
        counts.push(run);
        run = 0;
        value = v;
      }
      run++;
    }
  }
  counts.push(run);
  let s = '';
  counts.forEach((c, i) => {
    let x = i > 2 ? c - counts[i - 2] : c;
    let more = true;
    while (more) {
      let ch = x & 0x1f;
      x >>= 5;
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      s += String.fromCharCode(ch + 48);
    }
  });
  return { size: [h, w], counts: s };
}

test('RLE masks (--mask-format rle): COCO compressed counts decoded column-major and drawn translucent', async () => {
  const { rleToMask, decodeRleCounts } = await import('../dist/draw/rle.js');
  const h = 40;
  const w = 60;
  const mask = new Uint8Array(h * w);
  for (let y = 10; y < 30; y++) for (let x = 5 + (y % 3); x < 50; x++) mask[y * w + x] = 1;
  mask[0] = 1; // a lone pixel in the corner, and long runs that need multi-chunk numbers
  const rle = encodeRle(mask, h, w);
  assert.deepEqual(rleToMask(rle), mask);
  assert.deepEqual(decodeRleCounts(encodeRle(new Uint8Array(6).fill(1), 2, 3).counts), [0, 6]);

  const image = { data: new Uint8Array(w * h * 3).fill(100), width: w, height: h };
  const png = await annotateImage(image, [{ name: 'x', class: 0, confidence: 0.9, box: { x1: 0, y1: 0, x2: 60, y2: 40 }, rle }], { maxSide: null, quality: 95, format: 'png', labels: false });
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x, y) => [...data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
  assert.deepEqual(at(30, 20).map((v) => Math.round(v / 4)), [Math.round((4 + 100) / 2 / 4), Math.round((42 + 100) / 2 / 4), Math.round((255 + 100) / 2 / 4)], 'masked: 50% class colour');
  assert.deepEqual(at(30, 35), [100, 100, 100], 'outside the mask: untouched');
});
