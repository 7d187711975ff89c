/**
 * A line chart as standalone SVG text, with no dependencies: one curve per
 * series over categorical x values (evenly spaced, like the TKE chart's
 * concurrency axis), a min–max whisker at each point, labelled axes, grid
 * lines and a legend.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  readonly lo: number;
  readonly hi: number;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  /** SVG stroke-dasharray, empty for a solid line. */
  readonly dash: string;
  readonly points: readonly ChartPoint[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xs: readonly number[];
  readonly series: readonly Series[];
}

const W = 900;
const H = 520;
const PLOT = { left: 80, top: 50, right: 640, bottom: 450 } as const;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" axis maximum and step (1, 2 or 5 times a power of ten) for about five ticks. */
export function niceScale(max: number): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const rough = max / 5;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * pow >= rough) ?? 10) * pow;
  return { max: Math.ceil(max / step) * step, step };
}

function axes(
  c: Chart,
  yMax: number,
  step: number,
  xPos: (x: number) => number,
  yPos: (y: number) => number,
): string[] {
  const out: string[] = [];
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const y = yPos(v).toFixed(1);
    out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#ddd"/>`);
    out.push(
      `<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${v.toLocaleString('en-US')}</text>`,
    );
  }
  for (const x of c.xs) {
    const px = xPos(x).toFixed(1);
    out.push(`<line x1="${px}" y1="${PLOT.bottom}" x2="${px}" y2="${PLOT.bottom + 5}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${PLOT.bottom + 20}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#333"/>`);
  const midX = (PLOT.left + PLOT.right) / 2;
  const midY = (PLOT.top + PLOT.bottom) / 2;
  out.push(`<text x="${midX}" y="${PLOT.bottom + 45}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(22 ${midY}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  return out;
}

function curve(s: Series, xPos: (x: number) => number, yPos: (y: number) => number): string[] {
  const dash = s.dash === '' ? '' : ` stroke-dasharray="${s.dash}"`;
  const path = s.points.map((p) => `${xPos(p.x).toFixed(1)},${yPos(p.y).toFixed(1)}`).join(' ');
  const out = [`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`];
  for (const p of s.points) {
    const x = xPos(p.x).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${yPos(p.lo).toFixed(1)}" x2="${x}" y2="${yPos(p.hi).toFixed(1)}" stroke="${s.color}" stroke-opacity="0.5"/>`,
    );
    out.push(`<circle cx="${x}" cy="${yPos(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  return out;
}

function legend(series: readonly Series[]): string[] {
  const out: string[] = [];
  series.forEach((s, i) => {
    const y = PLOT.top + 10 + i * 22;
    const x = PLOT.right + 25;
    const dash = s.dash === '' ? '' : ` stroke-dasharray="${s.dash}"`;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 30}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${x + 38}" y="${y}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  return out;
}

export function renderChart(c: Chart): string {
  const top = Math.max(0, ...c.series.flatMap((s) => s.points.map((p) => Math.max(p.y, p.hi))));
  const { max, step } = niceScale(top);
  const n = c.xs.length;
  const xPos = (x: number): number => {
    const i = Math.max(0, c.xs.indexOf(x));
    return n <= 1 ? (PLOT.left + PLOT.right) / 2 : PLOT.left + 30 + (i * (PLOT.right - PLOT.left - 60)) / (n - 1);
  };
  const yPos = (y: number): number => PLOT.bottom - (y / max) * (PLOT.bottom - PLOT.top);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="25" text-anchor="middle" font-size="16">${esc(c.title)}</text>`,
    ...axes(c, max, step, xPos, yPos),
    ...c.series.flatMap((s) => curve(s, xPos, yPos)),
    ...legend(c.series),
    '</svg>',
    '',
  ].join('\n');
}
