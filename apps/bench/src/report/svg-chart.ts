/**
 * Small, dependency-free SVG charts for docs/: a line chart (time series) and a horizontal bar
 * chart (grouped bars, linear or log scale, an aim mark per group). Plain SVG with a white
 * background and the viewer's sans-serif font, so it reads the same on GitHub (light or dark
 * theme, which shows an SVG as an image: no scripts, no external fonts).
 */

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** A rough average glyph width at 12 px, for laying out labels without measuring text. */
const CHAR_PX = 6.6;

export interface LineSeries {
  name: string;
  /** [x, y]; a null y leaves a gap. */
  points: Array<[number, number | null]>;
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Vertical marks at an x (a rule set published, say). */
  markers?: Array<{ x: number; label: string }>;
  width?: number;
  height?: number;
  /** The y axis starts at 0 unless told otherwise (growth reads right only from 0). */
  yFromZero?: boolean;
  /** The x axis from 0 (a run's minutes), and its smallest tick step (1: whole minutes). */
  xFromZero?: boolean;
  xMinStep?: number;
}

export interface BarGroup {
  label: string;
  /** One value per series (null: none). */
  values: Array<number | null>;
  /** Where the aim lies on the value axis (drawn as a mark across the group). */
  aim?: number;
}

export interface BarChartSpec {
  title: string;
  xLabel: string;
  series: string[];
  groups: BarGroup[];
  scale?: 'linear' | 'log';
  /** Legend text of the aim mark. */
  aimLabel?: string;
  width?: number;
}

export interface Scale {
  domain: [number, number];
  ticks: number[];
  /** Value → position in [0, 1] of the axis. */
  at(v: number): number;
}

/** Ticks at 1, 2 or 5 × 10^k, about `count` of them, covering [min, max]. */
export function linearScale(min: number, max: number, count = 5, minStep = 0): Scale {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min) * 0.1);
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { domain: [lo, hi], ticks, at: (v) => (v - lo) / (hi - lo) };
}

/** Decades covering [min, max] (both > 0), with 2 and 5 between when there are few decades. */
export function logScale(min: number, max: number): Scale {
  const lo = Math.floor(Math.log10(min > 0 ? min : 1e-3));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max > 0 ? max : 1)));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) {
    ticks.push(10 ** k);
    if (hi - lo <= 3 && k < hi) ticks.push(2 * 10 ** k, 5 * 10 ** k);
  }
  const clean = ticks.map((t) => Number(t.toPrecision(6))).sort((a, b) => a - b);
  return { domain: [10 ** lo, 10 ** hi], ticks: clean, at: (v) => (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo) };
}

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a >= 100) return Math.round(v).toLocaleString('en');
  if (a >= 1 || a === 0) return trim(v);
  return Number(v.toPrecision(2)).toString();
}

/** Axis ticks: thousands as k from 1,000 on, so that one axis reads alike (5k, 10k, 15k). */
function formatTick(v: number): string {
  return Math.abs(v) >= 1000 && Math.abs(v) < 1e6 ? `${trim(v / 1e3)}k` : formatNumber(v);
}

const trim = (v: number) => Number(v.toFixed(Math.abs(v) < 10 ? 2 : 1)).toString();

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const px = (v: number) => Number(v.toFixed(1)).toString();

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;
}

function svgOpen(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(12, 22, title, 'font-size="15" font-weight="600" fill="#111"'),
  ];
}

/** Legend entries in rows under the title; returns the markup and the height it took. */
function legend(items: Array<{ name: string; color: string; kind: 'line' | 'dash' | 'box' | 'aim' }>, x0: number, y0: number, width: number): { svg: string[]; height: number } {
  const out: string[] = [];
  let x = x0;
  let y = y0;
  for (const it of items) {
    const w = 26 + it.name.length * CHAR_PX + 16;
    if (x + w > width - 8 && x > x0) {
      x = x0;
      y += 18;
    }
    const mark =
      it.kind === 'box'
        ? `<rect x="${px(x)}" y="${px(y - 9)}" width="14" height="10" fill="${it.color}"/>`
        : it.kind === 'aim'
          ? `<line x1="${px(x + 7)}" y1="${px(y - 11)}" x2="${px(x + 7)}" y2="${px(y + 3)}" stroke="${it.color}" stroke-width="2.5"/>`
          : `<line x1="${px(x)}" y1="${px(y - 4)}" x2="${px(x + 20)}" y2="${px(y - 4)}" stroke="${it.color}" stroke-width="2.5"${it.kind === 'dash' ? ' stroke-dasharray="6 3"' : ''}/>`;
    out.push(`<g class="legend-item" data-series="${escapeXml(it.name)}">${mark}${text(x + 26, y, it.name, 'fill="#222"')}</g>`);
    x += w;
  }
  return { svg: out, height: y - y0 + 18 };
}

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 860;
  const height = spec.height ?? 380;
  const colors = spec.series.map((_, k) => PALETTE[k % PALETTE.length]);
  const lg = legend(
    spec.series.map((s, k) => ({ name: s.name, color: colors[k], kind: s.dashed ? 'dash' : 'line' })),
    64,
    44,
    width,
  );
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null && Number.isFinite(v)));
  const markerXs = (spec.markers ?? []).map((m) => m.x);
  const xScale = linearScale(Math.min(...xs, ...markerXs, ...(spec.xFromZero ? [0] : [])), Math.max(...xs, ...markerXs), 10, spec.xMinStep ?? 0);
  const yMin = spec.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys);
  const yScale = linearScale(ys.length ? yMin : 0, ys.length ? Math.max(...ys) : 1, 5);
  const top = 44 + lg.height + 6;
  const left = 64;
  const right = 16;
  const bottom = 46;
  const w = width - left - right;
  const h = height - top - bottom;
  const X = (v: number) => left + xScale.at(v) * w;
  const Y = (v: number) => top + (1 - yScale.at(v)) * h;
  const out = svgOpen(width, height, spec.title);
  out.push(...lg.svg);
  out.push(`<rect class="plot" x="${px(left)}" y="${px(top)}" width="${px(w)}" height="${px(h)}" fill="none" stroke="#bbb"/>`);
  for (const t of yScale.ticks) {
    out.push(`<line x1="${px(left)}" y1="${px(Y(t))}" x2="${px(left + w)}" y2="${px(Y(t))}" stroke="#eee"/>`);
    out.push(text(left - 6, Y(t) + 4, formatTick(t), 'text-anchor="end" fill="#444"'));
  }
  for (const t of xScale.ticks) {
    out.push(`<line x1="${px(X(t))}" y1="${px(top + h)}" x2="${px(X(t))}" y2="${px(top + h + 4)}" stroke="#888"/>`);
    out.push(text(X(t), top + h + 17, formatTick(t), 'text-anchor="middle" fill="#444"'));
  }
  out.push(text(left + w / 2, height - 8, spec.xLabel, 'text-anchor="middle" fill="#222"'));
  out.push(text(14, top + h / 2, spec.yLabel, `text-anchor="middle" fill="#222" transform="rotate(-90 14 ${px(top + h / 2)})"`));
  for (const m of spec.markers ?? []) {
    out.push(
      `<g class="marker"><line x1="${px(X(m.x))}" y1="${px(top)}" x2="${px(X(m.x))}" y2="${px(top + h)}" stroke="#999" stroke-dasharray="3 3"/>${text(X(m.x) + 4, top + 12, m.label, 'fill="#666" font-size="11"')}</g>`,
    );
  }
  spec.series.forEach((s, k) => {
    // Gaps (null) split a series into runs; a lone point gets a dot so that it shows.
    const runs: Array<Array<[number, number]>> = [[]];
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) runs.push([]);
      else runs[runs.length - 1].push([x, y]);
    }
    const parts = runs
      .filter((r) => r.length)
      .map((r) =>
        r.length === 1
          ? `<circle cx="${px(X(r[0][0]))}" cy="${px(Y(r[0][1]))}" r="2.5" fill="${colors[k]}"/>`
          : `<polyline fill="none" stroke="${colors[k]}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''} points="${r.map(([x, y]) => `${px(X(x))},${px(Y(y))}`).join(' ')}"/>`,
      );
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">${parts.join('')}</g>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 860;
  const colors = spec.series.map((_, k) => PALETTE[k % PALETTE.length]);
  const items: Array<{ name: string; color: string; kind: 'box' | 'aim' }> = spec.series.map((name, k) => ({ name, color: colors[k], kind: 'box' }));
  if (spec.aimLabel && spec.groups.some((g) => g.aim !== undefined)) items.push({ name: spec.aimLabel, color: '#C00000', kind: 'aim' });
  const lg = legend(items, 12, 44, width);
  const maxLabel = Math.min(52, Math.max(...spec.groups.map((g) => g.label.length), 4));
  const left = 16 + maxLabel * CHAR_PX;
  const right = 56;
  const top = 44 + lg.height + 6;
  const barH = 14;
  const groupH = spec.series.length * barH + 12;
  const h = spec.groups.length * groupH;
  const height = top + h + 46;
  const w = width - left - right;
  const values = spec.groups.flatMap((g) => [...g.values, g.aim ?? null]).filter((v): v is number => v !== null && Number.isFinite(v));
  const log = spec.scale === 'log';
  const scale = log ? logScale(Math.min(...values.filter((v) => v > 0)), Math.max(...values)) : linearScale(0, Math.max(...values, 0), 6);
  const X = (v: number) => left + Math.max(0, Math.min(1, scale.at(v))) * w;
  const base = log ? left : X(0);
  const out = svgOpen(width, height, spec.title);
  out.push(...lg.svg);
  out.push(`<rect class="plot" x="${px(left)}" y="${px(top)}" width="${px(w)}" height="${px(h)}" fill="none" stroke="#bbb"/>`);
  for (const t of scale.ticks) {
    out.push(`<line x1="${px(X(t))}" y1="${px(top)}" x2="${px(X(t))}" y2="${px(top + h)}" stroke="#eee"/>`);
    out.push(text(X(t), top + h + 16, formatTick(t), 'text-anchor="middle" fill="#444"'));
  }
  out.push(text(left + w / 2, height - 10, spec.xLabel, 'text-anchor="middle" fill="#222"'));
  spec.groups.forEach((g, gi) => {
    const y0 = top + gi * groupH + 6;
    const label = g.label.length > maxLabel ? `${g.label.slice(0, maxLabel - 1)}…` : g.label;
    const parts = [`<title>${escapeXml(g.label)}</title>`, text(left - 8, y0 + (spec.series.length * barH) / 2 + 4, label, 'text-anchor="end" fill="#222"')];
    g.values.forEach((v, si) => {
      if (v === null || !Number.isFinite(v)) return;
      const y = y0 + si * barH;
      const x = X(v);
      parts.push(`<rect class="bar" data-value="${v}" x="${px(Math.min(base, x))}" y="${px(y + 1)}" width="${px(Math.abs(x - base))}" height="${barH - 2}" fill="${colors[si]}"/>`);
      // The value after the bar, or after the aim mark when that would cross it.
      const aimX = g.aim !== undefined ? X(g.aim) : -Infinity;
      const labelX = aimX >= x - 2 && aimX <= x + 6 + formatNumber(v).length * 6 ? aimX + 5 : x + 4;
      parts.push(text(labelX, y + barH - 3, formatNumber(v), 'fill="#333" font-size="11"'));
    });
    if (g.aim !== undefined) {
      parts.push(`<line class="aim" x1="${px(X(g.aim))}" y1="${px(y0 - 3)}" x2="${px(X(g.aim))}" y2="${px(y0 + spec.series.length * barH + 3)}" stroke="#C00000" stroke-width="2.5"/>`);
    }
    out.push(`<g class="group">${parts.join('')}</g>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
