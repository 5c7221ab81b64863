// What the page says about the photo on screen: the status line, the overlay canvas's state
// (which the tests read), the progress by stage, and emptying the result. No engine calls
// and no decisions about what to do next.

import { explorer, state } from './state.js';
import { truthCleared } from './ground-truth.js';
import { clearTrust } from './trust.js';
import { Progress, clearCanvas } from './views.js';

export const $ = (id) => document.getElementById(id);

export const progress = new Progress();

export function setStatus(text, kind = 'info') {
  const line = $('status');
  line.textContent = text;
  line.title = text; // the line shows two rows at most
  line.dataset.kind = kind;
}

/** `working`, `ready`, `error`, `stopped` or `idle`; `cls` is the class a ready map explains. */
export function setCanvasState(canvasState, cls) {
  const canvas = $('overlay');
  canvas.dataset.state = canvasState;
  // Which photo the canvas shows (tests check that a result is never another photo's).
  if (canvasState === 'ready' && state.photo) canvas.dataset.file = state.photo.name;
  else delete canvas.dataset.file;
  if (cls === undefined) delete canvas.dataset.class;
  else canvas.dataset.class = String(cls);
  const saving = canvasState === 'ready';
  for (const id of ['save-png', 'save-png16', 'save-npy', 'save-json', 'copy']) $(id).disabled = !saving;
}

/** Empties every picture and number of the result; `message` goes in the caption. */
export function clearResult(message) {
  for (const id of ['overlay', 'photo-canvas', 'heatmap-canvas']) clearCanvas($(id));
  $('grid').replaceChildren();
  $('top5').replaceChildren();
  $('legend').hidden = true;
  $('hot-box').hidden = true;
  $('timings').textContent = '';
  $('details').textContent = '';
  $('warning').hidden = true;
  delete $('overlay').dataset.settings;
  delete $('overlay').dataset.flat;
  state.shown = null;
  state.trust = null;
  $('caption').textContent = message;
  clearTrust(state.trustNote || 'Explain a photo first.', false);
  truthCleared();
}

export function showError(message) {
  setCanvasState('error');
  clearResult('No heatmap.');
  setStatus(message, 'error');
}

/** The photo on screen was stopped and is not being explained. */
export function showStopped() {
  setCanvasState('stopped');
  setStatus(`Stopped: ${state.photo.name} was not explained with ${explorer.settings.method}. Change a setting to explain it another way.`);
}
