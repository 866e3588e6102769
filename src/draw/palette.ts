// Ultralytics' colours (utils/plotting.py `Colors`), so an annotated image from yolo-serve looks
// like one from `yolo predict save=True`: the same class gets the same colour.
export type Rgb = readonly [number, number, number];

/** `Colors.hexs`: class i is drawn in CLASS_PALETTE[i % 20]. */
const CLASS_HEX = [
  '042AFF', '0BDBEB', 'F3F3F3', '00DFB7', '111F68', 'FF6FDD', 'FF444F', 'CCED00', '00F344', 'BD00FF',
  '00B4FF', 'DD00BA', '00FFFF', '26C000', '01FFB3', '7D24FF', '7B0068', 'FF1B6C', 'FC6D2F', 'A2FF0B',
] as const;

function hexToRgb(hex: string): Rgb {
  return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)];
}

export const CLASS_PALETTE: readonly Rgb[] = CLASS_HEX.map(hexToRgb);

/** The colour of class `cls` (negative or fractional ids are taken modulo the palette too). */
export function classColor(cls: number): Rgb {
  const n = CLASS_PALETTE.length;
  const i = ((Math.trunc(cls) % n) + n) % n;
  return CLASS_PALETTE[i]!;
}

// Annotator.dark_colors / light_colors, given there in BGR; kept here in RGB. Label text on a
// light box is dark blue (BGR 104,31,17), on a dark box white, otherwise white.
const DARK_BOX_RGB = new Set(['11,219,235', '243,243,243', '0,223,183', '255,111,221', '204,237,0', '0,243,68', '0,255,255', '1,255,179', '162,255,11']);
export const LABEL_TEXT_ON_LIGHT: Rgb = [17, 31, 104];
export const LABEL_TEXT_DEFAULT: Rgb = [255, 255, 255];

export function labelTextColor(box: Rgb): Rgb {
  return DARK_BOX_RGB.has(box.join(',')) ? LABEL_TEXT_ON_LIGHT : LABEL_TEXT_DEFAULT;
}

/** `Colors.pose_palette`. */
export const POSE_PALETTE: readonly Rgb[] = [
  [255, 128, 0], [255, 153, 51], [255, 178, 102], [230, 230, 0], [255, 153, 255], [153, 204, 255], [255, 102, 255],
  [255, 51, 255], [102, 178, 255], [51, 153, 255], [255, 153, 153], [255, 102, 102], [255, 51, 51], [153, 255, 153],
  [102, 255, 102], [51, 255, 51], [0, 255, 0], [0, 0, 255], [255, 0, 0], [255, 255, 255],
];

/** COCO-17 keypoint colours (Annotator.kpt_color) as indices into POSE_PALETTE. */
export const KPT_COLOR_INDEX = [16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9] as const;
/** Limb colours (Annotator.limb_color), one per SKELETON entry. */
export const LIMB_COLOR_INDEX = [9, 9, 9, 9, 7, 7, 7, 0, 0, 0, 0, 0, 16, 16, 16, 16, 16, 16, 16] as const;
/** COCO skeleton, zero-based keypoint indices (Annotator.skeleton is one-based). */
export const COCO_SKELETON: readonly (readonly [number, number])[] = [
  [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11],
  [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
].map(([a, b]) => [a! - 1, b! - 1] as const);

export function rgbCss(c: Rgb): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
