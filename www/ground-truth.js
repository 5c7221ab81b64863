// Ground truth the user draws: a box dragged around the object on the overlay, scored by the
// engine (trust::localise: the pointing game, the energy inside, the relevance mass) for the
// map on screen. The box belongs to the photo (its strip entry, in photo pixels): it stays,
// and is scored again, when the method, layer or class changes. Nothing is computed here but
// where to draw the box.

import { $ } from './screen.js';
import { state } from './state.js';

const MIN_DRAG = 3; // canvas pixels: a shorter drag is a click, not a box

const percent = (share) => (share === null || share === undefined ? '—' : `${(100 * share).toFixed(1)}%`);

/** Whether a drag on the overlay draws a box (zoom.js then leaves the pointer alone). */
const isDrawing = () => $('zoom').dataset.drawing === 'true';

function setDrawing(on) {
  const zoom = $('zoom');
  if (on) zoom.dataset.drawing = 'true'; else delete zoom.dataset.drawing;
  $('truth-draw').setAttribute('aria-pressed', String(on));
  if (on) $('truth-status').textContent = 'Drag a box around the object on the picture.';
}

/** Places the box element over the overlay canvas: `box` in pixels of a picture
 * `width` wide (the canvas's or the photo's), or hides it for null. */
function placeBox(box, width) {
  const element = $('truth-box');
  const canvas = $('overlay');
  if (!box || !width || !canvas.offsetWidth) {
    element.hidden = true;
    return;
  }
  const k = canvas.offsetWidth / width;
  element.style.left = `${canvas.offsetLeft + box.x * k}px`;
  element.style.top = `${canvas.offsetTop + box.y * k}px`;
  element.style.width = `${box.width * k}px`;
  element.style.height = `${box.height * k}px`;
  element.dataset.box = JSON.stringify(box);
  element.hidden = false;
}

/** Shows the engine's `trust::Localisation` for the map on screen. */
function showScores(found, r) {
  const hit = $('truth-hit');
  hit.dataset.value = String(found.hit);
  hit.textContent = found.peak === null
    ? 'miss: the map is flat, it points nowhere'
    : `${found.hit ? 'hit' : 'miss'}: the strongest point (${found.peak[0]}, ${found.peak[1]}) is ${found.hit ? 'on' : 'off'} the box`;
  for (const [id, value] of [['truth-energy', found.energy], ['truth-mass', found.relevance_mass]]) {
    $(id).dataset.value = value === null ? '' : String(value);
    $(id).textContent = `${percent(value)} (a map spread evenly: ${percent(found.box_share)})`;
  }
  const b = found.box;
  $('truth').dataset.for = `${r.method}|${r.layer}|${r.class}|${r.other ?? ''}`;
  $('truth').dataset.state = 'ready';
  $('truth').hidden = false;
  $('truth-status').textContent = `The box ${b.width}×${b.height} at (${b.x}, ${b.y}) against ${r.method} at ${r.layer} for “${r.label}”.`;
}

/** Scores the photo's box against the map on screen, unless it already was. */
async function score() {
  const { engine, shown, photo } = state;
  if (!engine || !shown?.drawn || !photo?.truth) return;
  if (photo.truthScored === shown.report) return;
  const { report: r, drawn } = shown;
  const b = photo.truth;
  const found = await engine.call('localise', [[b.x, b.y, b.width, b.height], drawn.photo_width, drawn.photo_height], { supersede: 'localise' })
    .catch(() => null);
  if (!found || state.shown?.report !== r || state.photo !== photo) return;
  photo.truthScored = r;
  showScores(found, r);
}

/** A map is drawn: the box follows the picture, and is scored for a new map. */
export function truthDrawn() {
  const { shown, photo } = state;
  $('truth-clear').disabled = !photo?.truth;
  if (!photo?.truth || !shown?.drawn) {
    placeBox(null);
    $('truth').hidden = true;
    return;
  }
  placeBox(photo.truth, shown.drawn.photo_width);
  if (photo.truthScored !== shown.report) {
    $('truth').dataset.state = 'working'; // the numbers are the last map's until scored again
    $('truth-status').textContent = 'Scoring the box against this map…';
  }
  score();
}

/** No map on screen (a new photo, an error): the box and its numbers go until one is. */
export function truthCleared() {
  setDrawing(false);
  placeBox(null);
  $('truth').hidden = true;
  $('truth-clear').disabled = true;
  $('truth-status').textContent = state.photo?.truth
    ? 'The box drawn on this photo is scored once its map is on screen.'
    : 'Drag a box around the object to see whether the map points at it.';
}

export function wireGroundTruth() {
  const canvas = $('overlay');
  $('truth-draw').addEventListener('click', () => setDrawing(!isDrawing()));
  $('truth-clear').addEventListener('click', () => {
    if (!state.photo) return;
    state.photo.truth = null;
    state.photo.truthScored = null;
    truthCleared();
  });
  // The drag, in canvas pixels; the engine turns it into photo pixels.
  let drag = null;
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    const clamp = (v, max) => Math.min(max, Math.max(0, Math.round(v)));
    return [clamp(((e.clientX - box.left) / box.width) * canvas.width, canvas.width),
      clamp(((e.clientY - box.top) / box.height) * canvas.height, canvas.height)];
  };
  const dragged = (e) => {
    const [x, y] = at(e);
    const [x0, y0] = drag.from;
    return { x: Math.min(x, x0), y: Math.min(y, y0), width: Math.abs(x - x0), height: Math.abs(y - y0) };
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (!isDrawing() || !state.shown?.drawn) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drag = { from: at(e), id: e.pointerId };
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drag?.id === e.pointerId) placeBox(dragged(e), canvas.width);
  });
  const finish = async (e) => {
    if (drag?.id !== e.pointerId) return;
    const box = dragged(e);
    drag = null;
    const { engine, shown, photo } = state;
    if (box.width < MIN_DRAG || box.height < MIN_DRAG || !engine || !shown) {
      truthDrawn();
      return;
    }
    setDrawing(false);
    $('truth').dataset.state = 'working'; // until the new box is scored
    $('truth-status').textContent = 'Scoring the box…';
    const found = await engine.call('localise', [[box.x, box.y, box.width, box.height], canvas.width, canvas.height], { supersede: 'localise' })
      .catch((err) => { $('truth-status').textContent = `The box could not be scored: ${err.message || err}`; return null; });
    if (!found || state.shown?.report !== shown.report || state.photo !== photo) return;
    photo.truth = found.box;
    photo.truthScored = shown.report;
    $('truth-clear').disabled = false;
    placeBox(found.box, shown.drawn.photo_width);
    showScores(found, shown.report);
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', (e) => { if (drag?.id === e.pointerId) { drag = null; truthDrawn(); } });
}
