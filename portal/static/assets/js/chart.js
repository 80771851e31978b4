// Charts drawn as inline SVG: bars for counts, a line for durations. Each
// chart has a title and a description for screen readers, and the same
// numbers are available in the table beside it.

import { s, h } from './dom.js';

const W = 600;
const H = 200;
const PAD = { left: 72, right: 12, top: 12, bottom: 36 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

function shortNumber(v) {
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (v === 0) return '0';
  // Two significant digits keep the ticks of small values apart (0.05, 0.1).
  if (v < 10) return String(Number(v.toPrecision(2)));
  return String(Math.round(v * 10) / 10);
}

function frame(titleText, desc, max, unit) {
  const titleId = `chart-${Math.random().toString(36).slice(2)}`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId}-t ${titleId}-d` },
    s('title', { id: `${titleId}-t` }, titleText),
    s('desc', { id: `${titleId}-d` }, desc));
  const innerH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + innerH - (innerH * i) / 4;
    svg.append(s('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    svg.append(s('text', { x: PAD.left - 6, y: y + 4, 'text-anchor': 'end' }, `${shortNumber((max * i) / 4)}${unit}`));
  }
  return svg;
}

function xLabel(svg, x, label) {
  svg.append(s('text', { x, y: H - 10, 'text-anchor': 'middle' }, label));
}

// barChart draws one bar per point: points are {label, value}.
export function barChart(titleText, points, unit = '') {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const desc = points.length ? points.map((p) => `${p.label}: ${shortNumber(p.value)}${unit}`).join(', ') : 'No data yet.';
  const svg = frame(titleText, desc, max, unit);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = points.length ? innerW / points.length : innerW;
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    const bh = (innerH * p.value) / max;
    // Bars are at most 48 units wide, so a single run does not fill the chart.
    const width = Math.max(1, Math.min(step * 0.7, 48));
    const x = PAD.left + i * step + (step - width) / 2;
    svg.append(s('rect', { class: 'bar', x, y: PAD.top + innerH - bh, width, height: bh },
      s('title', {}, `${p.label}: ${shortNumber(p.value)}${unit}`)));
    if (i % every === 0) xLabel(svg, x + width / 2, p.label);
  });
  return h('figure', { class: 'chart' }, svg, h('figcaption', { class: 'muted' }, titleText));
}

// lineChart draws a line through points {label, value} in order.
export function lineChart(titleText, points, unit = '') {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const desc = points.length ? points.map((p) => `${p.label}: ${shortNumber(p.value)}${unit}`).join(', ') : 'No data yet.';
  const svg = frame(titleText, desc, max, unit);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = points.length > 1 ? innerW / (points.length - 1) : 0;
  const every = Math.max(1, Math.ceil(points.length / 8));
  const coords = points.map((p, i) => [PAD.left + (points.length > 1 ? i * step : innerW / 2), PAD.top + innerH - (innerH * p.value) / max]);
  if (coords.length > 1) {
    svg.append(s('polyline', { class: 'line', points: coords.map((c) => c.join(',')).join(' ') }));
  }
  coords.forEach(([x, y], i) => {
    svg.append(s('circle', { class: 'dot', cx: x, cy: y, r: 3 }, s('title', {}, `${points[i].label}: ${shortNumber(points[i].value)}${unit}`)));
    if (i % every === 0) xLabel(svg, x, points[i].label);
  });
  return h('figure', { class: 'chart' }, svg, h('figcaption', { class: 'muted' }, titleText));
}
