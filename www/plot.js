// Line plots in SVG for the Trust panel (deletion/insertion curves, ROAD per percentile):
// axes, ticks, labels, one polyline per series and a legend. Only drawing; the numbers come
// from the engine.

const SVG = 'http://www.w3.org/2000/svg';

/** Draws a line plot on `svg`: `series` [{ name, css, points: [[x, y]], legend }] over the
 * x range `xs` and y range `ys` ([min, max, ticks]), with axis labels. */
export function plot(svg, { xs, ys, xLabel, yLabel, series }) {
  const [left, top, width, height] = [40, 10, 260, 150];
  const parts = [];
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    parts.push(el);
    return el;
  };
  const x = (v) => left + ((v - xs[0]) / (xs[1] - xs[0])) * width;
  const y = (v) => top + (1 - (v - ys[0]) / (ys[1] - ys[0])) * height;
  add('line', { x1: left, y1: top + height, x2: left + width, y2: top + height, class: 'axis' });
  add('line', { x1: left, y1: top, x2: left, y2: top + height, class: 'axis' });
  for (const t of xs[2]) add('text', { x: x(t), y: top + height + 14, 'text-anchor': 'middle', class: 'tick' }, String(t));
  for (const t of ys[2]) add('text', { x: left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, String(t));
  if (ys[0] < 0 && ys[1] > 0) add('line', { x1: left, y1: y(0), x2: left + width, y2: y(0), class: 'zero' });
  add('text', { x: left + width / 2, y: top + height + 30, 'text-anchor': 'middle', class: 'label' }, xLabel);
  add('text', { x: 10, y: top + height / 2, transform: `rotate(-90 10 ${top + height / 2})`, 'text-anchor': 'middle', class: 'label' }, yLabel);
  let legendY = top + 12;
  for (const { name, css, points, legend } of series) {
    const at = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    add('polyline', { points: at.join(' '), class: `curve ${css}`, 'data-curve': name });
    add('text', { x: left + width - 4, y: legendY, 'text-anchor': 'end', class: `legend ${css}` }, legend);
    legendY += 14;
  }
  svg.replaceChildren(...parts);
  svg.removeAttribute('hidden'); // an SVG element has no `hidden` property, only the attribute
}

