// Plain SVG charts, generated here and inlined into the report: no script, no library, nothing to
// load. Every label from the data is escaped.
import { escapeXml } from '../draw/overlay.js';

const FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="11"';

export interface Bar {
  label: string;
  value: number;
  color?: string;
  /** Hover text. */
  title?: string;
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

/** Horizontal bars, one row per item, labels on the left and values at the bar ends. */
export function horizontalBars(bars: readonly Bar[], opts: { width?: number; labelWidth?: number; row?: number; ariaLabel: string }): string {
  const width = opts.width ?? 640;
  const labelW = opts.labelWidth ?? 140;
  const row = opts.row ?? 18;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotW = width - labelW - 60;
  const height = bars.length * row + 4;
  const rows = bars.map((b, i) => {
    const y = i * row + 2;
    const w = Math.max(b.value > 0 ? 1 : 0, (b.value / max) * plotW);
    const label = b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label;
    return (
      `<g><title>${escapeXml(b.title ?? `${b.label}: ${fmt(b.value)}`)}</title>` +
      `<text x="${labelW - 6}" y="${y + row * 0.7}" text-anchor="end">${escapeXml(label)}</text>` +
      `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 5}" fill="${b.color ?? '#4c78a8'}" stroke="#0003"/>` +
      `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + row * 0.7}">${fmt(b.value)}</text></g>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(opts.ariaLabel)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>${rows.join('')}</svg>`;
}

/**
 * Vertical bars over consecutive bins with tick labels under some of them. `tick(i)` gives bin
 * i's axis label (or null for none).
 */
export function columns(values: readonly number[], opts: { width?: number; height?: number; color?: string; tick: (i: number) => string | null; binTitle: (i: number) => string; ariaLabel: string; xLabel?: string }): string {
  const width = opts.width ?? 320;
  const height = opts.height ?? 120;
  const left = 36;
  const bottom = opts.xLabel ? 30 : 18;
  const plotW = width - left - 6;
  const plotH = height - bottom - 6;
  const max = Math.max(1, ...values);
  const bw = plotW / Math.max(1, values.length);
  const parts: string[] = [
    `<line x1="${left}" y1="${6 + plotH}" x2="${left + plotW}" y2="${6 + plotH}" stroke="#888"/>`,
    `<text x="${left - 4}" y="12" text-anchor="end">${fmt(max)}</text>`,
    `<text x="${left - 4}" y="${6 + plotH}" text-anchor="end">0</text>`,
  ];
  values.forEach((v, i) => {
    const h = (v / max) * plotH;
    const x = left + i * bw;
    parts.push(
      `<rect x="${(x + 0.5).toFixed(1)}" y="${(6 + plotH - h).toFixed(1)}" width="${Math.max(0.5, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${opts.color ?? '#4c78a8'}" stroke="#0003"><title>${escapeXml(opts.binTitle(i))}</title></rect>`,
    );
    const t = opts.tick(i);
    if (t !== null) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${6 + plotH + 12}" text-anchor="middle">${escapeXml(t)}</text>`);
  });
  if (opts.xLabel) parts.push(`<text x="${left + plotW / 2}" y="${height - 3}" text-anchor="middle" fill="#555">${escapeXml(opts.xLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(opts.ariaLabel)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>${parts.join('')}</svg>`;
}

export interface RangeRow {
  label: string;
  /** Percentile markers, e.g. p50, p90, p99, and max, in the same unit. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * One row per stage on a shared logarithmic axis: a bar from p50 to p99, a tick at p90 and a dot
 * at max — the spread of each stage's latency at a glance.
 */
export function latencyRanges(rows: readonly RangeRow[], opts: { width?: number; unit: string; ariaLabel: string }): string {
  const width = opts.width ?? 640;
  const labelW = 120;
  const row = 22;
  const plotW = width - labelW - 20;
  const vals = rows.flatMap((r) => [r.p50, r.max]).filter((v): v is number => v !== null && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, lo * 10))));
  const x = (v: number) => labelW + (Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo)) * plotW;
  const height = rows.length * row + 28;
  const parts: string[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    parts.push(`<line x1="${x(d).toFixed(1)}" y1="0" x2="${x(d).toFixed(1)}" y2="${rows.length * row}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(d).toFixed(1)}" y="${rows.length * row + 14}" text-anchor="middle">${fmt(d)}</text>`);
  }
  parts.push(`<text x="${labelW + plotW / 2}" y="${height - 2}" text-anchor="middle" fill="#555">${escapeXml(opts.unit)} (log scale): bar p50–p99, tick p90, dot max</text>`);
  rows.forEach((r, i) => {
    const y = i * row;
    parts.push(`<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${escapeXml(r.label)}</text>`);
    if (r.p50 === null || r.p99 === null) return;
    const x0 = x(r.p50);
    const x1 = Math.max(x0 + 1, x(r.p99));
    parts.push(`<g><title>${escapeXml(`${r.label}: p50 ${fmt(r.p50)}, p90 ${fmt(r.p90 ?? 0)}, p99 ${fmt(r.p99)}, max ${fmt(r.max ?? 0)} ${opts.unit}`)}</title>`);
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y + 5}" width="${(x1 - x0).toFixed(1)}" height="12" fill="#72b7b2"/>`);
    if (r.p90 !== null) parts.push(`<line x1="${x(r.p90).toFixed(1)}" y1="${y + 3}" x2="${x(r.p90).toFixed(1)}" y2="${y + 19}" stroke="#333" stroke-width="2"/>`);
    if (r.max !== null) parts.push(`<circle cx="${x(r.max).toFixed(1)}" cy="${y + 11}" r="3" fill="#e45756"/>`);
    parts.push('</g>');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(opts.ariaLabel)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>${parts.join('')}</svg>`;
}
