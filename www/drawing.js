// Explaining the photo on screen and drawing it: one engine request computes the map and
// renders the pictures the view needs; a display change only renders again. Then the
// pictures and the legend go on the page, and readings.js words them. Every
// picture comes from the engine; nothing here computes a heatmap.

import { endJob, quiet, showMemory, startJob } from './lifecycle.js';
import { $, progress, setCanvasState, setStatus, showError } from './screen.js';
import { explorer, isCurrent, state } from './state.js';
import { describeShown, showPredictions, targetText, timingsText } from './readings.js';
import { mapShown } from './trust-check.js';
import { truthDrawn } from './ground-truth.js';
import {
  boxesIn, fillGridCell, pictureBox, picturesFor, prepareGrid, setView, showBitmap, showLegend,
} from './views.js';
import { showZoomControls } from './zoom.js';

const GRID_LAYERS = ['stem', 'layer1', 'layer2', 'layer3', 'layer4'];
const CANVAS_OF = { overlay: 'overlay', photo: 'photo-canvas', heatmap: 'heatmap-canvas' };

/** The view settings of each picture the current view shows, the overlay first, each with
 * the device-pixel box its canvas is shown in. */
export function wantedPictures() {
  const { view } = explorer.settings;
  const kinds = ['overlay', ...picturesFor(view)];
  // The grid hides the overlay but its map still sets the legend, the caption and the status:
  // it is drawn at its overlay view's size, never at a hidden canvas's one pixel.
  const boxes = boxesIn(view === 'grid' ? 'overlay' : view, kinds.map((kind) => $(CANVAS_OF[kind])));
  return kinds.map((kind, i) => ({ ...explorer.viewSettings(kind), box: boxes[i] }));
}

/** Whether pictures drawn for `views` show the settings still wanted (a newer display change
 * draws its own); with `boxes`, also at the sizes the layout wants now. */
function stillWanted(views, { boxes = false } = {}) {
  const key = (list) => JSON.stringify(boxes ? list : list.map(({ box, ...settings }) => settings));
  return key(views) === key(wantedPictures());
}

/** Explains the decoded photo with the explorer's settings for `epoch`, then draws it.
 * `decodeMs` is the decode's time when this follows a new photo. */
export async function explainShown(epoch, startedAt, decodeMs = null) {
  if (!isCurrent(epoch) || !state.loaded || state.decoded !== state.photo) return;
  const { engine } = state;
  const { name } = state.photo;
  setCanvasState('working');
  setStatus(`Computing ${explorer.settings.method} for ${name} with ${state.loaded.label}…`);
  progress.reset(decodeMs === null ? [] : ['decode']);
  if (decodeMs === null) progress.skip(['decode']);
  progress.enter('forward');
  const job = startJob('explain');
  // The pictures the current view needs come back with the map: one round trip.
  const views = wantedPictures();
  let reply;
  let drawStarted = null;
  try {
    reply = await engine.call('explainAndRender', [explorer.explainSettings(), views], {
      supersede: 'explain',
      onProgress: (phase) => {
        if (!isCurrent(epoch)) return;
        if (phase === 'draw') drawStarted = performance.now();
        progress.enter(phase);
      },
    });
  } catch (e) {
    if (quiet(e, epoch)) return;
    showError(`Could not explain ${name}: ${e.message || e}`);
    return;
  } finally {
    endJob(job);
  }
  if (!isCurrent(epoch)) return;
  const r = reply.report;
  if (r.reused === 'cache' || r.reused === 'activations') progress.skip(['forward', 'backward']);
  state.shown = { epoch, report: r, drawn: null, view: null };
  explorer.noteShape(r.layer, r.cam_shape);
  mapShown(r);
  // A display setting changed meanwhile: those pictures are stale, draw afresh.
  const fresh = stillWanted(views, { boxes: true });
  if (!fresh) reply.pictures.forEach((picture) => picture.bitmap.close());
  await drawShown(startedAt, decodeMs, fresh ? { pictures: reply.pictures, drawStarted, engineMs: reply.engineMs } : null);
}

/** Draws the explanation on screen in the current view, rendering its pictures unless
 * `rendered` brings them. */
export async function drawShown(startedAt, decodeMs = null, rendered = null) {
  const { engine, shown } = state;
  if (!shown || !engine) return;
  const { epoch, report: r } = shown;
  const { settings } = explorer;
  if (!rendered) progress.enter('draw');
  const drawStarted = (rendered && rendered.drawStarted) || performance.now();
  const views = wantedPictures();
  let overlay;
  let extras;
  try {
    [overlay, ...extras] = rendered ? rendered.pictures : await Promise.all(views
      .map((view) => engine.call('render', [view], { supersede: `render-${view.kind}` })));
  } catch (e) {
    if (quiet(e, epoch) || !stillWanted(views)) return;
    showError(`Could not draw ${state.photo.name}: ${e.message || e}`);
    return;
  }
  if (!isCurrent(epoch) || !stillWanted(views)) {
    [overlay, ...extras].forEach((picture) => picture.bitmap.close());
    return;
  }
  const canvas = $('overlay');
  showBitmap(canvas, overlay.bitmap, views[0].box);
  const kinds = picturesFor(settings.view);
  extras.forEach((picture, i) => showBitmap($(CANVAS_OF[kinds[i]]), picture.bitmap, views[i + 1].box));
  setView(settings.view);
  showZoomControls(settings.view !== 'grid');
  progress.finish();
  const drawn = overlay.info;
  const now = { ...shown, drawn, view: views[0] };
  state.shown = now;
  canvas.dataset.flat = drawn.flat ? 'true' : 'false'; // whether the map had no positive evidence
  const ms = Math.round(performance.now() - startedAt);
  canvas.dataset.ms = String(ms);
  // Input to frame: until the animation frame that first shows this picture.
  delete canvas.dataset.frameMs;
  requestAnimationFrame((frameAt) => {
    if (state.shown === now) canvas.dataset.frameMs = String(Math.round(frameAt - startedAt));
  });
  // Time spent in the engine (worker) for this frame: the whole explain-and-render request,
  // or every picture's render.
  const engineMs = rendered ? rendered.engineMs : [overlay, ...extras].reduce((sum, p) => sum + p.info.engine_ms, 0);
  canvas.dataset.engineMs = engineMs.toFixed(1);
  canvas.dataset.renderMs = drawn.render_ms.toFixed(1); // the overlay's picture alone
  canvas.dataset.box = views[0].box.join('x'); // the device-pixel box it was drawn to fit
  canvas.dataset.photoWidth = String(drawn.photo_width);
  canvas.dataset.photoHeight = String(drawn.photo_height);
  canvas.dataset.settings = JSON.stringify({ ...explorer.explainSettings(), ...explorer.viewSettings(), view: settings.view });
  canvas.dataset.method = r.method;
  canvas.dataset.layer = r.layer;
  if (r.other === null) delete canvas.dataset.other; else canvas.dataset.other = String(r.other);
  showPredictions(r.top5, r.class);
  setCanvasState('ready', r.class);
  showMemory();
  if (settings.scale === 'absolute' && settings.max === null && drawn.range) {
    // The first absolute view fixes the scale at this map's top; later maps share it.
    explorer.update({ max: Number(drawn.range[1].toPrecision(4)) });
    return;
  }
  showLegend(explorer.catalogue.colormap_tables[settings.colormap], settings, drawn.range);
  const box = drawn.hot_box;
  $('hot-box').hidden = !box;
  if (box) $('hot-box').textContent = `Hot region (≥ ${settings.threshold}% of the range): ${box.width}×${box.height} at (${box.x}, ${box.y}).`;
  $('hot-box').dataset.box = box ? JSON.stringify(box) : '';
  const { label } = state.loaded;
  describeShown(r, drawn);
  $('timings').textContent = timingsText(r, drawn, decodeMs, performance.now() - drawStarted);
  setStatus(drawn.flat
    ? `Done in ${ms} ms: ${label} found no positive evidence for ${targetText(r)}; showing the plain photo.`
    : `Done in ${ms} ms: warm colours mark where ${label} found evidence for ${targetText(r)}.`);
  truthDrawn();
  if (settings.view === 'grid') drawGrid(now);
}

/** Fills the grid: the same photo and class under several methods (or layers), while
 * `shown` is still the picture on screen. */
async function drawGrid(shown) {
  const { engine } = state;
  const { settings } = explorer;
  const byMethod = settings.gridOf === 'methods';
  const cells = (byMethod ? explorer.gridMethods() : GRID_LAYERS.filter((l) => explorer.layers.includes(l)))
    .map((value) => ({ key: value, title: byMethod ? `${value} at ${settings.layer}` : `${settings.method} at ${value}` }));
  prepareGrid(cells);
  $('grid').dataset.state = 'working';
  const cellBox = pictureBox($('grid').querySelector('canvas'), { fit: false });
  const target = { class: shown.report.class, other: shown.report.other };
  const current = () => isCurrent(shown.epoch) && state.shown === shown;
  for (const cell of cells) {
    if (!current()) return;
    const overrides = byMethod ? { method: cell.key, ...target } : { layer: cell.key, ...target };
    const started = performance.now();
    try {
      const { bitmap, report: r } = await engine.call('explainCell', [explorer.explainSettings(overrides), { ...explorer.viewSettings(), box: cellBox }]);
      if (!current()) { bitmap.close(); return; }
      fillGridCell(cell.key, bitmap, `${cell.title} · ${r.cam_shape.join('×')} · ${Math.round(performance.now() - started)} ms`);
    } catch (e) {
      if (quiet(e, shown.epoch)) return;
      fillGridCell(cell.key, null, `${cell.title}: ${e.message || e}`, 'error');
    }
  }
  if (current()) $('grid').dataset.state = 'ready';
}

/** A window resized (or zoomed: devicePixelRatio changes) redraws the pictures for their
 * new boxes once it settles. */
export function wireResize() {
  let timer = null;
  addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const { shown } = state;
      const stale = shown && shown.view && JSON.stringify(shown.view.box) !== JSON.stringify(wantedPictures()[0].box);
      // Only a finished picture is redrawn: newer work (a photo being read) draws its own.
      const idle = $('overlay').dataset.state === 'ready' && state.decoded === state.photo && isCurrent(shown?.epoch);
      if (stale && idle && explorer.settings.view !== 'grid') drawShown(performance.now());
    }, 150);
  });
}
