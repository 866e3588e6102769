// --fast-decode: big JPEGs decoded straight at (about) network size.
//
// A 12-megapixel photo costs ~20× a COCO image to decode, while the network sees ~640 pixels of
// it. libjpeg can decode at 1/2, 1/4 or 1/8 scale by dropping DCT coefficients (what OpenCV's
// IMREAD_REDUCED_* flags do), skipping most of the inverse-DCT and colour-conversion work. sharp
// exposes that as shrink-on-load inside a resize: it picks the largest JPEG scale that leaves
// the rest to its own (anti-aliased) reduce, and uses scale N only when the image shrinks by at
// least N+1 (it steps down from exact multiples to avoid libjpeg's rounding of odd sizes). So the
// image is asked for at its letterboxed size (newW×newH), and only when it shrinks by at least
// MIN_SHRINK: below that sharp would not use shrink-on-load and the result would be a slower
// resize than the exact one with different pixels.
//
// The letterbox geometry still comes from the full upright size, so padding and the boxes'
// mapping back to original pixels are exactly what they are without the flag; only the resized
// pixels differ (libvips' reduce of a DCT-scaled image instead of cv2.resize INTER_LINEAR of the
// full image). Off by default: it breaks exact parity with Ultralytics.
import { letterboxGeometry } from './letterbox.js';

/** Smallest shrink (full size ÷ letterboxed size, along the lesser axis) at which sharp scales on load. */
export const MIN_SHRINK = 3;

/** The JPEG decode size for an upright w×h image and network input netW×netH, or null to decode whole. */
export function fastDecodeSize(width: number, height: number, netW: number, netH: number): { width: number; height: number } | null {
  const g = letterboxGeometry(width, height, netW, netH);
  // The same ratios sharp computes for a resize to newW×newH (pipeline.cc, ResolveShrink).
  const shrink = Math.min(width / g.newW, height / g.newH);
  return shrink >= MIN_SHRINK ? { width: g.newW, height: g.newH } : null;
}

/** DecodeOptions.reduceJpeg for a network input of netW×netH. */
export function fastDecodeFor(netW: number, netH: number): (width: number, height: number) => { width: number; height: number } | null {
  return (width, height) => fastDecodeSize(width, height, netW, netH);
}
