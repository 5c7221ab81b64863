// Page glue: events, the model picker and DOM text. Decoding, the model, Grad-CAM and the
// overlay pixels all come from Rust (src/web); downloading, verifying and caching weights
// lives in weights.js. This file never computes a heatmap.

import {
  WeightsError, fetchManifest, forgetWeights, formatBytes, obtainWeights, pruneCache, rememberWeights,
} from './weights.js';

const $ = (id) => document.getElementById(id);
const canvas = $('overlay');
const statusLine = $('status');
const top5List = $('top5');
const caption = $('caption');
const picker = $('model');

let app = null;          // wasm App, once created
let manifest = null;     // weights/models.json
let chosen = null;       // the manifest entry the picker asks for
let loaded = null;       // the entry whose weights are in the engine (null while loading)
let loadToken = 0;       // bumped by every model choice; an older download is abandoned
let abortDownload = null;
let pickerNote = '';     // why the picker shows another model than ?model= asked for
let modelError = null;   // why no model is loaded, when loading failed
let generation = 0;      // bumped by every new photo, class or model request; older work is dropped
let queue = Promise.resolve();
let currentFile = null;

function setStatus(text, kind = 'info') {
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

function setCanvasState(state, cls) {
  canvas.dataset.state = state;
  if (cls === undefined) delete canvas.dataset.class;
  else canvas.dataset.class = String(cls);
}

function clearResult(message) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  top5List.replaceChildren();
  caption.textContent = message;
}

// Runs tasks one after another so that results always land in request order.
function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function wasmBindings() {
  if (window.wasmBindings) return Promise.resolve(window.wasmBindings);
  return new Promise((resolve) => {
    addEventListener('TrunkApplicationStarted', () => resolve(window.wasmBindings), { once: true });
  });
}

async function gpuAdapterName() {
  if (!('gpu' in navigator) || !navigator.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info || {};
    return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  } catch {
    return null;
  }
}

// ---- models -------------------------------------------------------------------------

function optionText(model) {
  const untrained = model.trained || /untrained/i.test(model.label) ? '' : ' (untrained)';
  return `${model.label}${untrained} — ${formatBytes(model.bytes)}`;
}

function fillPicker() {
  picker.replaceChildren(...manifest.models.map((m) => new Option(optionText(m), m.name)));
  picker.disabled = false;
  picker.addEventListener('change', () => {
    pickerNote = '';
    const url = new URL(location.href);
    url.searchParams.set('model', picker.value);
    history.replaceState(null, '', url);
    loadModel(manifest.models.find((m) => m.name === picker.value));
  });
}

/** `?model=` when it names a model here, else the manifest's default. */
function initialModel() {
  const fallback = manifest.models.find((m) => m.name === manifest.default) || manifest.models[0];
  const asked = new URLSearchParams(location.search).get('model');
  const model = asked && manifest.models.find((m) => m.name === asked);
  if (asked && !model) pickerNote = `There is no model “${asked}” here; showing ${fallback.label} instead.`;
  return model || fallback;
}

function showModelNote(model) {
  const untrained = model && !model.trained
    ? `${model.label} has untrained (random) weights: predictions and heatmaps are not meaningful.` : '';
  const note = $('model-note');
  note.textContent = [pickerNote, untrained].filter(Boolean).join(' ');
  note.hidden = !note.textContent;
}

function showProgress(model, got, total) {
  const bar = $('download');
  bar.hidden = false;
  bar.max = total || 1;
  bar.value = got;
  const pct = total ? ` (${Math.floor((100 * got) / total)}%)` : '';
  setStatus(`Downloading ${model.label}: ${formatBytes(got)} of ${formatBytes(total)}${pct}`);
}

/** Chooses `model`: fetches its verified bytes (cache or network), then loads them in turn. */
async function loadModel(model) {
  const token = ++loadToken;
  if (abortDownload) abortDownload.abort();
  const controller = new AbortController();
  abortDownload = controller;
  chosen = model;
  loaded = null;
  modelError = null;
  generation += 1; // the heatmap on screen belongs to the previous model
  delete document.body.dataset.ready;
  delete document.body.dataset.model;
  delete document.body.dataset.weightsSource;
  $('retry').hidden = true;
  picker.value = model.name;
  $('model-name').textContent = model.label;
  showModelNote(null);
  if (currentFile) {
    setCanvasState('working');
    top5List.replaceChildren();
    caption.textContent = `Switching to ${model.label}…`;
  }
  setStatus(`Looking for ${model.label} in this browser's cache…`);
  let weights;
  try {
    weights = await obtainWeights(model, { signal: controller.signal, onProgress: (got, total) => showProgress(model, got, total) });
  } catch (e) {
    if (token === loadToken) modelFailed(model, e);
    return;
  }
  if (token !== loadToken) return;
  $('download').hidden = true;
  enqueue(() => installWeights(model, weights, token));
}

/** Hands verified bytes to the engine (in the queue, so no explanation runs meanwhile). */
async function installWeights(model, weights, token) {
  if (token !== loadToken || !app) return;
  setStatus(`Loading ${model.label} into the engine…`);
  await nextFrame();
  try {
    app.loadWeights(weights.bytes);
  } catch (e) {
    await forgetWeights(model); // never keep bytes the engine refuses
    if (token === loadToken) modelFailed(model, new WeightsError(`${model.label} could not be loaded by the engine: ${e.message || e}.`));
    return;
  }
  const stored = weights.source === 'network' && (await rememberWeights(model, weights.bytes));
  if (token !== loadToken) return;
  loaded = model;
  showModelNote(model);
  document.body.dataset.model = model.name;
  document.body.dataset.weightsSource = weights.source;
  document.body.dataset.ready = 'true';
  const size = formatBytes(model.bytes);
  const how = weights.source === 'cache'
    ? `Loaded from cache: ${model.label} (${size}, sha256 verified).`
    : `Downloaded ${model.label} (${size}, sha256 verified${stored ? ', cached for next time' : ''}).`;
  setStatus(`${how} Drop a photo to explain it.`);
  // The photo on screen (or dropped while loading) is explained with this model now.
  if (currentFile) explainFile(currentFile);
}

function modelFailed(model, e) {
  $('download').hidden = true;
  if (currentFile) {
    setCanvasState('error');
    clearResult('No heatmap: the model is not loaded.');
  }
  const message = e instanceof WeightsError ? e.message : `${model.label} could not be loaded: ${e.message || e}.`;
  modelError = `${message} Press Retry to try again.`;
  setStatus(modelError, 'error');
  $('retry').hidden = false;
}

// ---- photos -------------------------------------------------------------------------

function renderTop5(top5, chosenClass) {
  const items = top5.map((p) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', `class-${p.class}`);
    if (p.class === chosenClass) li.setAttribute('aria-current', 'true');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${p.label} — ${(100 * p.prob).toFixed(2)}%`;
    button.title = `Explain class ${p.class}`;
    button.addEventListener('click', () => requestClass(p.class));
    li.append(button);
    return li;
  });
  top5List.replaceChildren(...items);
}

async function runExplain(cls, gen, name) {
  if (gen !== generation) return;
  const model = loaded;
  setCanvasState('working');
  setStatus(`Computing Grad-CAM for ${name} with ${model.label}…`);
  await nextFrame();
  const started = performance.now();
  let report;
  try {
    report = JSON.parse(await app.explain(cls ?? undefined));
  } catch (e) {
    if (gen !== generation) return;
    showError(`Could not explain ${name}: ${e.message || e}`);
    return;
  }
  if (gen !== generation) return;
  const evidence = app.draw(canvas);
  const ms = Math.round(performance.now() - started);
  renderTop5(report.top5, report.class);
  canvas.dataset.ms = String(ms);
  setCanvasState('ready', report.class);
  caption.textContent = `${model.label}: Grad-CAM at its last feature stage for “${report.label}” `
    + `(class ${report.class}), ${canvas.width}×${canvas.height}.`;
  setStatus(evidence
    ? `Done in ${ms} ms: red marks where ${model.label} found evidence for “${report.label}”.`
    : `Done in ${ms} ms: ${model.label} found no positive evidence for “${report.label}”; showing the plain photo.`);
}

function showError(message) {
  setCanvasState('error');
  clearResult('No heatmap.');
  setStatus(message, 'error');
}

function explainFile(file) {
  const gen = ++generation;
  currentFile = file;
  if (!loaded) {
    // Explained as soon as the model is in (after a failed load, once Retry succeeds).
    if (modelError) {
      showError(`${file.name} cannot be explained yet: ${modelError}`);
    } else {
      setCanvasState('working');
      caption.textContent = `${file.name} will be explained once the model is loaded.`;
    }
    return;
  }
  setCanvasState('working');
  setStatus(`Reading ${file.name}…`);
  enqueue(async () => {
    if (gen !== generation || !loaded) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (gen !== generation) return;
    try {
      const size = JSON.parse(app.setPhoto(bytes));
      caption.textContent = `${file.name}: ${size.width}×${size.height}`;
    } catch (e) {
      showError(`${file.name} is not a usable photo: ${e.message || e}`);
      return;
    }
    await runExplain(null, gen, file.name);
  });
}

function requestClass(cls) {
  if (!currentFile || !loaded) return;
  const gen = ++generation;
  const name = currentFile.name;
  enqueue(() => runExplain(cls, gen, `${name}, class ${cls}`));
}

function wireInputs() {
  const input = $('photo-input');
  input.addEventListener('change', () => {
    if (input.files.length) explainFile(input.files[0]);
    input.value = '';
  });
  const hint = $('drop-hint');
  let depth = 0;
  document.addEventListener('dragenter', (e) => { e.preventDefault(); depth += 1; hint.hidden = false; });
  document.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) hint.hidden = true; });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    hint.hidden = true;
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) explainFile(file);
    else setStatus('That drop held no file: drop a photo file.', 'error');
  });
  $('retry').addEventListener('click', () => loadModel(chosen));
}

async function startEngine() {
  const wasm = await wasmBindings();
  const adapter = await gpuAdapterName();
  const engine = await wasm.App.create(adapter !== null);
  const onGpu = engine.backend.startsWith('webgpu');
  document.body.dataset.backend = onGpu ? 'webgpu' : 'cpu';
  $('backend').textContent = onGpu ? `Backend: WebGPU (${adapter})` : `Backend: ${engine.backend.replace(/^cpu/, 'CPU')}`;
  return engine;
}

async function start() {
  wireInputs();
  // The weights download while the engine starts; queued work waits for the engine.
  const engine = startEngine();
  enqueue(() => engine.then((e) => { app = e; }, () => {}));
  try {
    manifest = await fetchManifest();
  } catch (e) {
    modelError = `The list of models could not be read: ${e.message || e}. Reload the page to try again.`;
    setStatus(modelError, 'error');
    return;
  }
  fillPicker();
  loadModel(initialModel());
  pruneCache(manifest).catch(() => {});
  await engine;
}

start().catch((e) => {
  loadToken += 1; // stop reporting download progress over this message
  if (abortDownload) abortDownload.abort();
  setStatus(`The app failed to start: ${e.message || e}`, 'error');
});
