// Showing the engine's pictures: the canvases of each view (overlay; photo | heatmap |
// overlay side by side; swipe; grid), the colour-bar legend, the progress by stage and the
// hover read-out. Pixels always come from the engine as ImageBitmaps; this file only places
// them.

const $ = (id) => document.getElementById(id);

/** Shows `bitmap` on `canvas`; with the device-pixel `box` it was drawn for, as large as
 * fits that box (a photo smaller than its box is enlarged on screen, never in the engine). */
export function showBitmap(canvas, bitmap, box = null) {
  const { width, height } = bitmap; // read first: the transfer detaches the bitmap
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('bitmaprenderer').transferFromImageBitmap(bitmap);
  if (box && box[1]) {
    const fit = Math.min(box[0] / width, box[1] / height);
    canvas.style.width = `${(width * fit) / (globalThis.devicePixelRatio || 1)}px`;
  } else {
    canvas.style.width = '';
  }
}

/** Empties a canvas: nothing stale stays on screen. */
export function clearCanvas(canvas) {
  canvas.getContext('bitmaprenderer').transferFromImageBitmap(null);
}

/** Which extra pictures a view needs besides the overlay. */
export function picturesFor(view) {
  if (view === 'side') return ['photo', 'heatmap'];
  if (view === 'swipe') return ['photo'];
  return [];
}

export function setView(view) {
  $('views').dataset.view = view;
}

/** Room kept below a picture for its caption, warning and colour bar, in CSS pixels. */
const BELOW_PICTURE = 96;
/** A picture is never fitted into less height than this (a tiny window scrolls instead). */
const MIN_PICTURE_HEIGHT = 240;

/** The box a canvas is shown in, in device pixels: its pane's CSS width, and with `fit` the
 * height of the window below the picture's top (less room for its caption), each ×
 * devicePixelRatio: `[width, height]` (`[width, null]` without `fit`: a grid cell). The
 * engine draws the largest picture that fits it, so a photo of any size and aspect fits the
 * window. */
export function pictureBox(canvas, { fit = true } = {}) {
  const scale = globalThis.devicePixelRatio || 1;
  // The layout's width, not the zoomed one (zoom.js transforms the views).
  const paneWidth = parseFloat(getComputedStyle(canvas.parentElement).width) || 0;
  const width = Math.max(1, Math.round(paneWidth * scale));
  if (!fit) return [width, null];
  const top = $('zoom').getBoundingClientRect().top + globalThis.scrollY;
  const room = Math.max(MIN_PICTURE_HEIGHT, document.documentElement.clientHeight - top - BELOW_PICTURE);
  return [width, Math.round(room * scale)];
}

/** The boxes of `canvases` as laid out in `view` (measured before that view is shown). */
export function boxesIn(view, canvases) {
  const views = $('views');
  const shown = views.dataset.view;
  views.dataset.view = view;
  const boxes = canvases.map(pictureBox);
  views.dataset.view = shown;
  return boxes;
}

export function wireSwipe() {
  const swipe = $('swipe');
  const apply = () => $('views').style.setProperty('--swipe', `${swipe.value}%`);
  swipe.addEventListener('input', apply);
  apply();
}

// ---- grid ---------------------------------------------------------------------------

/** Empty cells, one per entry of `cells` ({ key, title }), in the grid view. */
export function prepareGrid(cells) {
  const grid = $('grid');
  grid.replaceChildren(...cells.map(({ key, title }) => {
    const figure = document.createElement('figure');
    figure.dataset.cell = key;
    figure.dataset.state = 'working';
    const canvas = document.createElement('canvas');
    canvas.setAttribute('aria-label', title);
    const caption = document.createElement('figcaption');
    caption.textContent = `${title}…`;
    figure.append(canvas, caption);
    return figure;
  }));
}

export function fillGridCell(key, bitmap, text, state = 'ready') {
  const figure = $('grid').querySelector(`figure[data-cell="${CSS.escape(key)}"]`);
  if (!figure) return;
  if (bitmap) showBitmap(figure.querySelector('canvas'), bitmap);
  figure.querySelector('figcaption').textContent = text;
  figure.dataset.state = state;
}

// ---- legend -------------------------------------------------------------------------

const fmt = (v) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(3));

/** The colour bar for `table` (256 RGB rows) with the value range it stands for. */
export function showLegend(table, settings, range) {
  const legend = $('legend');
  if (!table) { legend.hidden = true; return; }
  const bar = $('colorbar');
  const ctx = bar.getContext('2d');
  const image = ctx.createImageData(256, 1);
  table.forEach(([r, g, b], i) => image.data.set([r, g, b, 255], i * 4));
  for (let y = 0; y < bar.height; y++) ctx.putImageData(image, 0, y);
  const absolute = settings.scale === 'absolute';
  const top = absolute ? settings.max : range && range[1];
  $('legend-min').textContent = absolute ? '0' : (range ? fmt(range[0]) : '0');
  $('legend-max').textContent = top === null || top === undefined ? '–' : fmt(top);
  $('legend-range').textContent = range
    ? `map values ${fmt(range[0])} to ${fmt(range[1])}${absolute ? `, coloured on a fixed 0–${fmt(settings.max)} scale` : ', each map stretched to the full bar'}`
    : 'no positive evidence in this map';
  legend.hidden = false;
}

// ---- progress -----------------------------------------------------------------------

const PHASE_STAGE = { forward: 'forward', backward: 'backward', perturb: 'backward', map: 'backward' };

/** The progress line: each stage pending, active or done with its time. */
export class Progress {
  constructor() {
    const items = [...$('progress').children].filter((li) => li.dataset.stage);
    this.items = new Map(items.map((li) => [li.dataset.stage, li]));
    this.labels = new Map(items.map((li) => [li.dataset.stage, li.textContent]));
    this.reset([]);
  }

  /** Every stage pending again, except those in `keep`. */
  reset(keep) {
    this.current = null;
    this.since = 0;
    for (const stage of this.items.keys()) if (!keep.includes(stage)) this.show(stage, 'pending', '');
  }

  show(stage, state, note) {
    const li = this.items.get(stage);
    li.dataset.state = state;
    li.textContent = note ? `${this.labels.get(stage)} ${note}` : this.labels.get(stage);
  }

  /** Marks `stage` (or an engine phase) as started; the previous one is done. */
  enter(stageOrPhase) {
    const stage = PHASE_STAGE[stageOrPhase] || stageOrPhase;
    if (stage === this.current) return;
    this.finish();
    this.current = stage;
    this.since = performance.now();
    this.items.get(stage).dataset.state = 'active';
  }

  /** Marks the active stage done, with the time it took. */
  finish() {
    if (!this.current) return;
    this.show(this.current, 'done', `${Math.round(performance.now() - this.since)} ms`);
    this.current = null;
  }

  /** Marks skipped stages (e.g. a class switch needs no forward pass). */
  skip(stages) {
    for (const stage of stages) {
      if (this.items.get(stage).dataset.state === 'pending') this.show(stage, 'skipped', '(reused)');
    }
  }
}

// ---- hover read-out -----------------------------------------------------------------

/**
 * Reads the map under the pointer over any picture canvas: `query(x, y, width, height)`
 * resolves to the engine's `{ x, y, value, share }` for pixel (x, y) of the `width × height`
 * picture shown, x and y being photo pixels (or null); `describe(found)` words it.
 */
export function wireReadout(query, describe) {
  const readout = $('readout');
  let busy = false;
  let waiting = null;
  async function ask(...point) {
    if (busy) { waiting = point; return; }
    busy = true;
    try {
      const found = await query(...point);
      readout.textContent = found === null ? 'No map here yet.' : `(${found.x}, ${found.y}): ${describe(found)}`;
      readout.dataset.x = found === null ? '' : String(found.x);
      readout.dataset.y = found === null ? '' : String(found.y);
      readout.dataset.value = found === null ? '' : String(found.value);
    } catch {
      readout.textContent = 'No map here yet.';
    } finally {
      busy = false;
    }
    if (waiting) { const next = waiting; waiting = null; ask(...next); }
  }
  for (const id of ['overlay', 'heatmap-canvas']) {
    const canvas = $(id);
    canvas.addEventListener('pointermove', (e) => {
      const box = canvas.getBoundingClientRect();
      if (!box.width || !box.height) return;
      const x = Math.min(canvas.width - 1, Math.max(0, Math.floor(((e.clientX - box.left) / box.width) * canvas.width)));
      const y = Math.min(canvas.height - 1, Math.max(0, Math.floor(((e.clientY - box.top) / box.height) * canvas.height)));
      ask(x, y, canvas.width, canvas.height);
    });
  }
}
