// Page glue: events, the model picker and DOM text. Decoding, the model, Grad-CAM and the
// overlay pixels all come from Rust (src/web); downloading, verifying and caching weights
// lives in weights.js, starting (and restarting) the engine in engine.js. This file never
// computes a heatmap. Every file name and class label reaches the page as text, never HTML.

import { startEngine } from './engine.js';
import {
  WeightsError, fetchManifest, forgetWeights, formatBytes, obtainWeights, pruneCache, rememberWeights,
} from './weights.js';

const $ = (id) => document.getElementById(id);
const canvas = $('overlay');
const statusLine = $('status');
const top5List = $('top5');
const caption = $('caption');
const picker = $('model');

let engine = null;       // engine.js handle on the running engine
let app = null;          // its wasm App (null while the engine starts or restarts)
let engineFailures = 0;  // engines lost this session; after two the GPU is not tried again
const MAX_REDOS = 3;     // after this many failures the photo on screen is not redone
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
  // Which photo the canvas shows (tests check that a result is never another photo's).
  if (state === 'ready' && currentFile) canvas.dataset.file = currentFile.name;
  else delete canvas.dataset.file;
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

/** Thrown by `guarded` when the engine failed while we waited on it. */
class EngineFailed extends Error {}

// Rejecters of the calls now waiting on the engine: told when it fails.
const waitingOnEngine = new Set();

/** `promise`, or an EngineFailed as soon as the current engine fails (a lost device may
 * leave the engine's own promise pending for ever). Leaves nothing behind once settled. */
function guarded(promise) {
  return new Promise((resolve, reject) => {
    const fail = (why) => reject(new EngineFailed(why));
    waitingOnEngine.add(fail);
    promise.then(resolve, reject).finally(() => waitingOnEngine.delete(fail));
  });
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
    const info = JSON.parse(app.loadWeights(weights.bytes));
    if (info.arch !== model.arch || info.classes !== model.classes) {
      app.unloadWeights();
      throw new Error(`the file holds ${info.arch} (${info.classes} classes), but models.json `
        + `lists it as ${model.arch} (${model.classes} classes)`);
    }
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
  let evidence;
  try {
    report = JSON.parse(await guarded(app.explain(cls ?? undefined)));
    if (gen !== generation) return;
    evidence = app.draw(canvas);
  } catch (e) {
    if (gen !== generation || e instanceof EngineFailed) return; // engineFailed() took over
    showError(`Could not explain ${name}: ${e.message || e}`);
    return;
  }
  const ms = Math.round(performance.now() - started);
  renderTop5(report.top5, report.class);
  canvas.dataset.ms = String(ms);
  setCanvasState('ready', report.class);
  showMemory();
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

// ---- the engine ---------------------------------------------------------------------

/** Memory in use, shown to the user and read by the long-session test. */
function showMemory() {
  if (!engine) return;
  const line = $('memory');
  let memory;
  try {
    memory = engine.memory();
  } catch {
    return;
  }
  line.dataset.wasmBytes = String(memory.wasmBytes);
  line.dataset.jsBytes = String(performance.memory ? performance.memory.usedJSHeapSize : '');
  const gpu = memory.gpuBytes === null ? '' : `, GPU ${formatBytes(memory.gpuBytes)} in use (${formatBytes(memory.gpuReserved)} reserved)`;
  line.dataset.gpuBytes = memory.gpuBytes === null ? '' : String(memory.gpuBytes);
  line.dataset.gpuReserved = memory.gpuReserved === null ? '' : String(memory.gpuReserved);
  line.textContent = `Memory: engine ${formatBytes(memory.wasmBytes)}${gpu}.`;
}

async function bootEngine(options) {
  const started = await startEngine(options);
  engine = started;
  app = started.app;
  document.body.dataset.backend = started.onGpu ? 'webgpu' : 'cpu';
  $('backend').textContent = `Backend: ${started.label}`;
  started.failed.then((why) => engineFailed(started, why));
}

/** The engine lost its GPU or trapped: nothing it computed is shown as current, and a fresh
 * engine (on the GPU once more, then on the CPU) reloads the model and redoes the photo. */
function engineFailed(failed, why) {
  if (failed !== engine) return;
  for (const fail of waitingOnEngine) fail(why);
  failed.dispose();
  engine = null;
  app = null;
  engineFailures += 1;
  generation += 1; // whatever the failed engine was doing is void
  loadToken += 1;
  loaded = null;
  delete document.body.dataset.ready;
  const allowGpu = failed.onGpu && engineFailures < 2;
  const message = `${why[0].toUpperCase()}${why.slice(1)}. Restarting the engine${allowGpu ? '' : ' on the CPU'}…`;
  const givingUp = currentFile && engineFailures > MAX_REDOS;
  if (givingUp) {
    // The same photo keeps failing the engine: stop redoing it, or we would loop for ever.
    showError(`${currentFile.name} was not explained: the engine failed ${engineFailures} times in this session.`);
    currentFile = null;
  } else if (currentFile) {
    setCanvasState('working');
    clearResult(`${currentFile.name} will be explained again once the engine has restarted.`);
  }
  if (!givingUp) setStatus(message, 'warning');
  const note = $('engine-note');
  note.textContent = `${why[0].toUpperCase()}${why.slice(1)}; the engine was restarted.`;
  note.hidden = false;
  document.body.dataset.engineRestarts = String(engineFailures);
  queue = Promise.resolve(); // a task of the failed engine may never finish: do not wait on it
  enqueue(async () => {
    try {
      await bootEngine({ allowGpu });
    } catch (e) {
      setStatus(`The engine could not be restarted: ${e.message || e}. Reload the page.`, 'error');
      return;
    }
    note.textContent = `${why[0].toUpperCase()}${why.slice(1)}; the engine was restarted on ${engine.label}.`;
    if (chosen) loadModel(chosen);
  });
}

async function start() {
  wireInputs();
  // The weights download while the engine starts; queued work waits for the engine.
  const booting = bootEngine({});
  enqueue(() => booting.catch(() => {}));
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
  await booting;
}

start().catch((e) => {
  loadToken += 1; // stop reporting download progress over this message
  if (abortDownload) abortDownload.abort();
  setStatus(`The app failed to start: ${e.message || e}`, 'error');
});
