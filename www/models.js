// The model picker and loading a model: the list (weights/models.json), the verified bytes
// from this browser's cache or the network with a progress bar, and handing them to the
// engine. What the page does once a model is in is app.js's call.

import { enqueue } from './lifecycle.js';
import { $, clearResult, setCanvasState, setStatus } from './screen.js';
import { explorer, nextEpoch, state } from './state.js';
import { readFragment } from './explorer.js';
import { WeightsError, forgetWeights, formatBytes, obtainWeights, rememberWeights } from './weights.js';

function optionText(model) {
  const untrained = model.trained || /untrained/i.test(model.label) ? '' : ' (untrained)';
  return `${model.label}${untrained} — ${formatBytes(model.bytes)}`;
}

/** Lists the manifest's models, then the user's own ones in their own group. */
export function showPickerOptions() {
  const picker = $('model');
  const { models } = state.manifest;
  const own = models.filter((m) => m.own);
  const options = models.filter((m) => !m.own).map((m) => new Option(optionText(m), m.name));
  if (own.length) {
    const group = document.createElement('optgroup');
    group.label = 'Your models';
    group.append(...own.map((m) => new Option(optionText(m), m.name)));
    options.push(group);
  }
  picker.replaceChildren(...options);
  if (state.chosen) picker.value = state.chosen.name;
}

/** Fills the picker from the manifest; `onPick(model)` hears the user's choice. */
export function fillPicker(onPick) {
  const picker = $('model');
  const { models } = state.manifest;
  showPickerOptions();
  picker.disabled = false;
  picker.addEventListener('change', () => {
    state.pickerNote = '';
    const url = new URL(location.href);
    url.searchParams.set('model', picker.value);
    history.replaceState(null, '', url);
    onPick(models.find((m) => m.name === picker.value));
  });
}

/** The fragment's or `?model=`'s model when it names one here, else the manifest's default. */
export function initialModel() {
  const { models } = state.manifest;
  const fallback = models.find((m) => m.name === state.manifest.default) || models[0];
  const asked = readFragment().model || new URLSearchParams(location.search).get('model');
  const model = asked && models.find((m) => m.name === asked);
  if (asked && !model) state.pickerNote = `There is no model “${asked}” here; showing ${fallback.label} instead.`;
  return model || fallback;
}

function showModelNote(model) {
  const untrained = model && !model.trained
    ? `${model.label} has untrained (random) weights: predictions and heatmaps are not meaningful.` : '';
  const note = $('model-note');
  note.textContent = [state.pickerNote, untrained].filter(Boolean).join(' ');
  note.hidden = !note.textContent;
}

function showDownload(model, got, total) {
  const bar = $('download');
  bar.hidden = false;
  bar.max = total || 1;
  bar.value = got;
  const pct = total ? ` (${Math.floor((100 * got) / total)}%)` : '';
  setStatus(`Downloading ${model.label}: ${formatBytes(got)} of ${formatBytes(total)}${pct}`);
}

/** Loads `model`: its verified bytes (cache or network), then, in the queue, into the
 * engine. Resolves to whether it is loaded; false when a newer load replaced this one or it
 * failed (the failure is shown, with Retry). The map on screen belongs to the previous
 * model, so this starts a new epoch. */
export async function loadModel(model) {
  if (state.loading) state.loading.controller.abort();
  const load = { model, controller: new AbortController() };
  state.loading = load;
  state.chosen = model;
  state.loaded = null;
  state.modelError = null;
  state.decoded = null;
  nextEpoch();
  explorer.model = model.name;
  explorer.writeFragment();
  delete document.body.dataset.ready;
  delete document.body.dataset.model;
  delete document.body.dataset.weightsSource;
  $('retry').hidden = true;
  $('model').value = model.name;
  $('model-name').textContent = model.label;
  $('own-remove').hidden = !model.own;
  showModelNote(null);
  if (state.photo && state.redoAfterLoad) {
    setCanvasState('working');
    $('top5').replaceChildren();
    $('caption').textContent = `Switching to ${model.label}…`;
  }
  setStatus(`Looking for ${model.label} in this browser's cache…`);
  let weights;
  performance.mark('gradcam:weights-start');
  try {
    weights = await obtainWeights(model, {
      signal: load.controller.signal,
      onProgress: (got, total) => showDownload(model, got, total),
    });
  } catch (e) {
    if (load === state.loading) modelFailed(model, e);
    return false;
  }
  if (load !== state.loading) return false;
  performance.mark('gradcam:weights-end');
  $('download').hidden = true;
  return enqueue(() => installWeights(load, weights));
}

/** Hands verified bytes to the engine (in the queue, so no explanation runs meanwhile). */
async function installWeights(load, weights) {
  const { model } = load;
  const { engine } = state;
  if (load !== state.loading || !engine) return false;
  setStatus(`Loading ${model.label} into the engine…`);
  try {
    const info = await engine.call('loadWeights', [weights.bytes]);
    if (info.arch !== model.arch || info.classes !== model.classes) {
      await engine.call('unloadWeights');
      throw new Error(`the file holds ${info.arch} (${info.classes} classes), but models.json `
        + `lists it as ${model.arch} (${model.classes} classes)`);
    }
    explorer.setLayers(info.layers);
    explorer.setLabels(info.labels);
  } catch (e) {
    if (engine !== state.engine) return false; // the engine failed meanwhile: it is restarted and reloads
    await forgetWeights(model); // never keep bytes the engine refuses
    if (load === state.loading) modelFailed(model, new WeightsError(`${model.label} could not be loaded by the engine: ${e.message || e}.`));
    return false;
  }
  const stored = weights.source === 'network' && (await rememberWeights(model, weights.bytes));
  if (load !== state.loading) return false;
  state.loading = null;
  state.loaded = model;
  showModelNote(model);
  document.body.dataset.model = model.name;
  document.body.dataset.weightsSource = weights.source;
  document.body.dataset.ready = 'true';
  performance.mark('gradcam:model-ready');
  explorer.writeFragment();
  const size = formatBytes(model.bytes);
  const how = weights.source === 'cache'
    ? `Loaded from ${model.own ? 'this browser' : 'cache'}: ${model.label} (${size}, sha256 verified).`
    : `Downloaded ${model.label} (${size}, sha256 verified${stored ? ', cached for next time' : ''}).`;
  setStatus(`${how} Drop a photo to explain it.`);
  return true;
}

function modelFailed(model, e) {
  $('download').hidden = true;
  state.loading = null;
  if (state.photo) {
    setCanvasState('error');
    clearResult('No heatmap: the model is not loaded.');
  }
  const message = e instanceof WeightsError ? e.message : `${model.label} could not be loaded: ${e.message || e}.`;
  state.modelError = `${message} Press Retry to try again.`;
  setStatus(state.modelError, 'error');
  $('retry').hidden = false;
}

/** Stops a download in progress (the page failed to start). */
export function abandonLoading() {
  if (state.loading) state.loading.controller.abort();
  state.loading = null;
}
