/** Hand-written SVG charts for the benchmark report: a line chart and a horizontal bar chart. */

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#be185d'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(v % 1e3 === 0 ? 0 : 1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference line (a target), with its label. */
  reference?: { y: number; label: string };
  width?: number;
  height?: number;
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 400;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMax = niceMax(Math.max(1, ...all.map(([x]) => x)));
  const yMax = niceMax(Math.max(o.reference?.y ?? 0, ...all.map(([, y]) => y)) * 1.05);
  const X = (x: number): number => m.l + (x / xMax) * pw;
  const Y = (y: number): number => m.t + ph - (y / yMax) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const yv = (yMax / 5) * i;
    const xv = (xMax / 5) * i;
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(yv)}" y2="${Y(yv)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${m.l - 6}" y="${Y(yv) + 4}" text-anchor="end">${fmt(yv)}</text>`);
    out.push(`<text x="${X(xv)}" y="${m.t + ph + 18}" text-anchor="middle">${fmt(xv)}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#374151"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#374151"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.reference !== undefined) {
    const y = Y(o.reference.y);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#6b7280" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${m.l + pw - 4}" y="${y - 5}" text-anchor="end" fill="#374151">${esc(o.reference.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length > 0) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of pts) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const ly = m.t + 10 + i * 18;
    out.push(`<rect x="${m.l + pw + 14}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${m.l + pw + 32}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the bar instead of the value. */
  text?: string;
}

export interface BarChartOptions {
  title: string;
  unit: string;
  bars: Bar[];
  reference?: { value: number; label: string };
  width?: number;
}

export function barChart(o: BarChartOptions): string {
  const W = o.width ?? 720;
  const rowH = 30;
  const m = { l: 230, r: 150, t: 44, b: 30 };
  const H = m.t + m.b + rowH * o.bars.length;
  const pw = W - m.l - m.r;
  const max = niceMax(Math.max(o.reference?.value ?? 0, ...o.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))));
  const X = (v: number): number => m.l + (Math.max(0, v) / max) * pw;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  o.bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    const color = COLORS[i % COLORS.length] ?? '#000';
    out.push(`<text x="${m.l - 8}" y="${y + 18}" text-anchor="end">${esc(b.label)}</text>`);
    if (Number.isFinite(b.value)) out.push(`<rect x="${m.l}" y="${y + 5}" width="${(X(b.value) - m.l).toFixed(1)}" height="${rowH - 10}" fill="${color}"/>`);
    const text = b.text ?? (Number.isFinite(b.value) ? `${fmt(b.value)} ${o.unit}` : 'missing');
    out.push(`<text x="${(Number.isFinite(b.value) ? X(b.value) : m.l) + 6}" y="${y + 18}">${esc(text)}</text>`);
  });
  if (o.reference !== undefined) {
    const x = X(o.reference.value);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t - 4}" y2="${H - m.b + 4}" stroke="#374151" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${x}" y="${H - 8}" text-anchor="middle">${esc(o.reference.label)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
