// The report page: one HTML document with its CSS, SVG charts and images inline. A strict
// Content-Security-Policy allows nothing to load from anywhere, and every string that comes from
// the data (paths, class names, messages, model names) goes through escapeXml, so a file named
// `<script>….jpg` is text on the page, never markup.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classColor, rgbCss } from '../draw/palette.js';
import { escapeXml as esc } from '../draw/overlay.js';
import { LatencyHistogram } from '../metrics/histogram.js';
import { STAGES } from '../metrics/stages.js';
import { STAGE_LABELS, type RunSummary } from '../metrics/summary.js';
import { columns, horizontalBars, latencyRanges } from './charts.js';
import { CONFIDENCE_BINS, type GalleryItem, type ReportData } from './collect.js';
import type { Thumb } from './thumbs.js';

export interface ReportView {
  data: ReportData;
  summary: RunSummary | null;
  /** The results files read. */
  sources: string[];
  /** The summary files read. */
  summarySources: string[];
  generatedAt: Date;
  thumbs: Map<string, Thumb>;
  seed: number;
  toolVersion: string;
}

/** Classes drawn as confidence histograms (all are in the table). */
const HISTOGRAM_CLASSES = 24;
/** Classes in the bar chart. */
const BAR_CLASSES = 40;
/** Detections-per-image bins shown one by one; larger counts share the last bin. */
const DETS_BINS = 40;

const num = (n: number) => n.toLocaleString('en-US');
const ms = (v: number | null) => (v === null ? '–' : v < 100 ? v.toFixed(2) : v < 10000 ? v.toFixed(1) : v.toFixed(0));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–');

function fileHref(path: string): string {
  try {
    return pathToFileURL(path).href;
  } catch {
    return '#';
  }
}

function dl(rows: [string, string | null][]): string {
  return `<dl class="facts">${rows
    .filter((r): r is [string, string] => r[1] !== null)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`)
    .join('')}</dl>`;
}

function header(v: ReportView): string {
  const { data: d, summary: s } = v;
  const rows: [string, string | null][] = [];
  const processed = d.ok + d.failed;
  rows.push(['images', `<b data-count="images">${num(processed)}</b> (<span data-count="ok">${num(d.ok)}</span> ok, <span data-count="failed">${num(d.failed)}</span> failed${s && s.images.skipped > 0 ? `, ${num(s.images.skipped)} non-image files skipped` : ''}${s && s.images.not_started > 0 ? `, ${num(s.images.not_started)} not started` : ''})`]);
  rows.push(['detections', `<b data-count="detections">${num(d.detections)}</b> in ${num(d.classes.length)} classes`]);
  const sh = d.shapes;
  const shapes = [
    sh.segments > 0 ? `masks on ${num(sh.segments)}` : null,
    sh.keypoints > 0 ? `keypoints on ${num(sh.keypoints)}` : null,
    sh.obb > 0 ? `rotated boxes on ${num(sh.obb)}` : null,
    sh.classify > 0 ? `top-5 classes on ${num(sh.classify)}` : null,
  ].filter((x) => x !== null);
  if (shapes.length > 0) rows.push(['task data', `${shapes.join(', ')} images`]);
  if (s) {
    const m = s.model;
    rows.push(['model', `${esc(basename(m.path))} <span class="muted">(${esc(m.task ?? 'detect')}, ${esc(m.layout)}, ${m.imgsz[0]}×${m.imgsz[1]}, ${m.classes} classes, ${esc(m.dtype)}${m.sha256 ? `, sha256 ${esc(m.sha256.slice(0, 12))}` : ''})</span>`]);
    if (s.inputs) rows.push(['inputs', s.inputs.map((i) => `<code>${esc(i)}</code>`).join(', ')]);
    rows.push(['device', `${esc(s.device.used)} <span class="muted">(${esc(s.device.provider)}; ${s.parallelism.workers}×${s.parallelism.threads} threads, batch ${s.parallelism.batch})</span>`]);
    rows.push(['started', `${esc(s.started_at)} <span class="muted">→ ${esc(s.ended_at)}</span>`]);
    rows.push(['wall time', `${s.wall_s.toFixed(1)} s <span class="muted">(start-up ${s.startup_s.toFixed(1)} s)</span>`]);
    rows.push(['throughput', `${s.throughput_ips.toFixed(1)} images/s`]);
    const st = s.settings;
    rows.push(['settings', esc(`conf ${st.conf}, iou ${st.iou}, max-det ${st.max_det}${st.classes ? `, classes ${st.classes.join(',')}` : ''}${st.agnostic_nms ? ', agnostic NMS' : ''}`)]);
    rows.push(['status', s.interrupted ? `<b class="bad">interrupted</b>${s.stop_reason ? ` — ${esc(s.stop_reason)}` : ''}` : s.stop_reason ? `<b class="bad">stopped early</b> — ${esc(s.stop_reason)}` : `completed (exit code ${s.exit_code})`]);
    if (s.parts > 1) rows.push(['parts', `merged from ${s.parts} summaries`]);
    rows.push(['versions', esc(`yolo-serve ${s.versions.yolo_serve}, onnxruntime ${s.versions.onnxruntime}, node ${s.versions.node}`)]);
  }
  rows.push(['results', v.sources.map((f) => `<code>${esc(f)}</code>`).join(', ')]);
  if (v.summarySources.length > 0) rows.push(['summary', v.summarySources.map((f) => `<code>${esc(f)}</code>`).join(', ')]);
  const notes: string[] = [];
  if (!s) notes.push('No run summary given (<code>--summary FILE</code>): model, device, timings and latency are not shown.');
  if (s && (s.images.ok !== d.ok || s.images.failed !== d.failed)) {
    notes.push(`The summary counts ${num(s.images.ok)} ok and ${num(s.images.failed)} failed images; the results file holds ${num(d.ok)} and ${num(d.failed)} (a resumed run's summary covers only its last part, or the files come from different runs).`);
  }
  for (const w of s?.warnings ?? []) notes.push(esc(w));
  return `<header><h1>yolo-serve run report</h1>${dl(rows)}${notes.map((n) => `<p class="note">${n}</p>`).join('')}</header>`;
}

function classesSection(d: ReportData): string {
  if (d.classes.length === 0) return '<section id="classes"><h2>Classes</h2><p>No detections.</p></section>';
  const bars = d.classes.slice(0, BAR_CLASSES).map((c) => ({ label: c.name, value: c.count, color: rgbCss(classColor(c.class)), title: `${c.name} (class ${c.class}): ${c.count} detections in ${c.images} images` }));
  const rows = d.classes
    .map(
      (c) =>
        `<tr><td class="num">${c.class}</td><td><span class="swatch" style="background:${rgbCss(classColor(c.class))}"></span>${esc(c.name)}</td>` +
        `<td class="num" data-class-count="${esc(c.name)}">${num(c.count)}</td><td class="num">${num(c.images)}</td><td class="num">${pct(c.count, d.detections)}</td><td class="num">${(c.confidenceSum / c.count).toFixed(3)}</td></tr>`,
    )
    .join('');
  const more = d.classes.length > BAR_CLASSES ? `<p class="muted">Chart: the ${BAR_CLASSES} most frequent of ${d.classes.length} classes; the table lists all.</p>` : '';
  return (
    `<section id="classes"><h2>Classes</h2><div class="cols"><div>${horizontalBars(bars, { ariaLabel: 'detections per class' })}${more}</div>` +
    `<table class="sortable" id="class-table"><thead><tr><th data-sort="num">id</th><th data-sort="text">class</th><th data-sort="num">detections</th><th data-sort="num">images</th><th data-sort="num">share</th><th data-sort="num">mean conf</th></tr></thead><tbody>${rows}</tbody></table></div></section>`
  );
}

function confidenceSection(d: ReportData): string {
  if (d.classes.length === 0) return '';
  const tick = (i: number) => (i % 5 === 0 ? (i / CONFIDENCE_BINS).toFixed(2) : i === CONFIDENCE_BINS - 1 ? '1' : null);
  const title = (name: string, bins: number[]) => (i: number) => `${name}: ${bins[i]} detections with confidence ${(i / CONFIDENCE_BINS).toFixed(2)}–${((i + 1) / CONFIDENCE_BINS).toFixed(2)}`;
  const all = new Array<number>(CONFIDENCE_BINS).fill(0);
  for (const c of d.classes) c.confidenceBins.forEach((n, i) => (all[i]! += n));
  const cells = [
    `<figure><figcaption>all classes (${num(d.detections)})</figcaption>${columns(all, { tick, binTitle: title('all classes', all), ariaLabel: 'confidence, all classes', color: '#555' })}</figure>`,
    ...d.classes.slice(0, HISTOGRAM_CLASSES).map(
      (c) =>
        `<figure><figcaption>${esc(c.name)} (${num(c.count)})</figcaption>${columns(c.confidenceBins, { tick, binTitle: title(c.name, c.confidenceBins), ariaLabel: `confidence, ${c.name}`, color: rgbCss(classColor(c.class)) })}</figure>`,
    ),
  ];
  const more = d.classes.length > HISTOGRAM_CLASSES ? `<p class="muted">The ${HISTOGRAM_CLASSES} most frequent classes are shown.</p>` : '';
  return `<section id="confidence"><h2>Confidence by class</h2><div class="grid">${cells.join('')}</div>${more}</section>`;
}

function detsPerImageSection(d: ReportData): string {
  const src = d.detsPerImage;
  if (src.length === 0) return '';
  const bins = src.slice(0, DETS_BINS);
  const overflow = src.slice(DETS_BINS).reduce((a, b) => a + b, 0);
  if (overflow > 0) bins.push(overflow);
  const last = bins.length - 1;
  const label = (i: number) => (overflow > 0 && i === last ? `${DETS_BINS}+` : String(i));
  const step = bins.length > 20 ? 5 : 1;
  const chart = columns(bins, {
    width: 640,
    height: 160,
    tick: (i) => (i % step === 0 || i === last ? label(i) : null),
    binTitle: (i) => `${bins[i]} images with ${label(i)} detections`,
    ariaLabel: 'detections per image',
    xLabel: 'detections in the image',
  });
  const mean = d.ok > 0 ? d.detections / d.ok : 0;
  return `<section id="per-image"><h2>Detections per image</h2>${chart}<p class="muted">${num(d.ok)} images, mean ${mean.toFixed(2)} detections; ${num(src[0] ?? 0)} images with none.</p></section>`;
}

function latencySection(s: RunSummary | null): string {
  if (!s) return '';
  const rows = STAGES.map((stage) => {
    const l = s.latency_ms[stage];
    // Percentiles from the histogram itself, so a merged summary's figures are exact too.
    const st = LatencyHistogram.decode(l.hdr, l.sum, l.max ?? 0).stats();
    return { stage, st };
  });
  const table = rows
    .map(({ stage, st }) => `<tr><td>${STAGE_LABELS[stage]}</td>${[st.count, st.mean, st.p50, st.p90, st.p95, st.p99, st.max].map((v, i) => `<td class="num">${i === 0 ? num(v ?? 0) : ms(v)}</td>`).join('')}</tr>`)
    .join('');
  const chart = latencyRanges(
    rows.map(({ stage, st }) => ({ label: STAGE_LABELS[stage], p50: st.p50, p90: st.p90, p99: st.p99, max: st.max })),
    { unit: 'ms', ariaLabel: 'latency percentiles per stage' },
  );
  return `<section id="latency"><h2>Latency per stage</h2><div class="cols"><table id="latency-table"><thead><tr><th>stage (ms)</th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>${table}</tbody></table>${chart}</div></section>`;
}

function failuresSection(d: ReportData): string {
  if (d.failures.length === 0) return `<section id="failures"><h2>Failures</h2><p>No failed images.</p></section>`;
  const groups = d.failures.map((g) => {
    const items = g.samples.map((f) => `<li><a href="${esc(fileHref(f.path))}">${esc(f.path)}</a><br><span class="msg">${esc(f.message)}</span></li>`).join('');
    const more = g.count > g.samples.length ? `<li class="muted">… and ${num(g.count - g.samples.length)} more</li>` : '';
    return `<details open><summary><b>${esc(g.code)}</b> <span data-failure-code="${esc(g.code)}">${num(g.count)}</span></summary><ul>${items}${more}</ul></details>`;
  });
  return `<section id="failures"><h2>Failures (${num(d.failed)})</h2>${groups.join('')}</section>`;
}

/**
 * An image can be in several gallery sections: its pixels are embedded once, as an SVG <image> in
 * a hidden <defs>, and every card showing it refers to that with <use>.
 */
function thumbDefs(thumbs: Map<string, Thumb>): { defs: string; ids: Map<string, string> } {
  const ids = new Map<string, string>();
  const images: string[] = [];
  for (const [path, t] of thumbs) {
    if (!t.ok) continue;
    const id = `thumb-${ids.size}`;
    ids.set(path, id);
    images.push(`<image id="${id}" width="${t.width}" height="${t.height}" href="${t.dataUri}"/>`);
  }
  return { ids, defs: `<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" style="position:absolute" aria-hidden="true"><defs>${images.join('')}</defs></svg>` };
}

function galleryCard(item: GalleryItem, thumb: Thumb | undefined, id: string | undefined, caption: string): string {
  const img =
    thumb?.ok && id
      ? `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="thumb" role="img" aria-label="${esc(basename(item.path))}" width="${thumb.width}" height="${thumb.height}" viewBox="0 0 ${thumb.width} ${thumb.height}"><use href="#${id}"/></svg>`
      : `<div class="noimg">${esc(thumb && !thumb.ok ? thumb.reason : 'no image')}</div>`;
  return `<figure class="card"><a href="${esc(fileHref(item.path))}" title="${esc(item.path)}">${img}</a><figcaption><span class="path">${esc(item.path)}</span><br>${esc(caption)}</figcaption></figure>`;
}

function gallerySection(v: ReportView): string {
  const g = v.data.gallery;
  const { defs, ids } = thumbDefs(v.thumbs);
  const dets = (i: GalleryItem) => `${i.detections.length} detection${i.detections.length === 1 ? '' : 's'}`;
  const part = (id: string, title: string, items: GalleryItem[], caption: (i: GalleryItem) => string) =>
    items.length === 0 ? '' : `<h3>${title}</h3><div class="gallery" id="${id}">${items.map((i) => galleryCard(i, v.thumbs.get(i.path), ids.get(i.path), caption(i))).join('')}</div>`;
  const body =
    part('gallery-most', 'Most detections', g.most, dets) +
    part('gallery-lowest', 'Lowest confidence', g.lowest, (i) => `${dets(i)}, lowest confidence ${i.minConfidence.toFixed(3)}`) +
    part('gallery-random', `Random sample (seed ${v.seed})`, g.random, dets);
  return `<section id="gallery"><h2>Gallery</h2>${defs}${body || '<p>No successful images.</p>'}</section>`;
}

const CSS = `
body{font:14px/1.4 system-ui,"DejaVu Sans",Arial,sans-serif;margin:0 auto;max-width:1280px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}h3{font-size:15px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}.facts dt{color:#666}.facts dd{margin:0}
.muted{color:#777}.note{background:#fff6e0;border-left:4px solid #f0b400;padding:6px 10px}.bad{color:#c0392b}
table{border-collapse:collapse;font-size:13px}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
th[data-sort]{cursor:pointer;user-select:none}th[data-sort]:hover{background:#f3f3f3}
.cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border:1px solid #0003}
.grid{display:flex;flex-wrap:wrap;gap:8px}.grid figure{margin:0;border:1px solid #eee;padding:4px}figcaption{font-size:12px;color:#444}
.gallery{display:flex;flex-wrap:wrap;gap:10px}.card{margin:0;width:240px}.card svg.thumb{max-width:240px;max-height:240px;width:auto;height:auto;display:block;border:1px solid #ccc}
.card .path{word-break:break-all;font-family:"DejaVu Sans Mono",monospace;font-size:11px}.noimg{width:236px;height:120px;border:1px dashed #bbb;display:flex;align-items:center;justify-content:center;color:#888;font-size:12px;text-align:center;padding:2px}
details{margin:6px 0}summary{cursor:pointer}.msg{color:#555;font-size:12px;word-break:break-all}li{margin:3px 0}li a{word-break:break-all}
code{font-size:12px}
`;

// Sorting for the class table: the only script on the page, and the page works without it.
const SCRIPT = `
(function(){
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads = table.querySelectorAll('th');
    heads.forEach(function(th, col){
      th.addEventListener('click', function(){
        var body = table.tBodies[0];
        var numeric = th.getAttribute('data-sort') === 'num';
        var dir = th.getAttribute('data-dir') === 'desc' ? 1 : -1;
        heads.forEach(function(h){ h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          if (numeric) { x = parseFloat(x.replace(/[,%]/g, '')) || 0; y = parseFloat(y.replace(/[,%]/g, '')) || 0; return (x - y) * dir; }
          return x.localeCompare(y) * dir;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      });
    });
  });
  document.body.setAttribute('data-ready', '1');
})();
`;

export function renderReportHtml(v: ReportView): string {
  const csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";
  const title = v.summary ? `yolo-serve report — ${basename(v.summary.model.path)}` : 'yolo-serve report';
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="yolo-serve ${esc(v.toolVersion)}"><title>${esc(title)}</title><style>${CSS}</style></head><body>` +
    header(v) +
    `<nav class="muted"><a href="#classes">classes</a> · <a href="#confidence">confidence</a> · <a href="#per-image">per image</a> · ${v.summary ? '<a href="#latency">latency</a> · ' : ''}<a href="#failures">failures</a> · <a href="#gallery">gallery</a></nav>` +
    classesSection(v.data) +
    confidenceSection(v.data) +
    detsPerImageSection(v.data) +
    latencySection(v.summary) +
    failuresSection(v.data) +
    gallerySection(v) +
    `<footer class="muted"><p>Generated ${esc(v.generatedAt.toISOString())} by yolo-serve ${esc(v.toolVersion)}.</p></footer>` +
    `<script>${SCRIPT}</script></body></html>\n`
  );
}
