// Page glue: events, photos, the model picker and DOM text. Decoding, the model, the maps
// and every picture come from Rust, running in a Web Worker (engine.js, worker.js);
// settings live in explorer.js, canvases in views.js, saving in exports.js, weights in
// weights.js. This file never computes a heatmap. File names and class labels reach the
// page as text, never HTML.

import { Superseded, startEngine } from './engine.js';
import { Explorer, readFragment } from './explorer.js';
import { baseName, copyPng, download } from './exports.js';
import { boardWorking, clearTrust, showBoard, showTrust, trustSettings, trustWorking } from './trust.js';
import {
  Progress, boxesIn, clearCanvas, fillGridCell, pictureBox, picturesFor, prepareGrid, setView, showBitmap, showLegend,
  wireReadout, wireSwipe,
} from './views.js';
import {
  WeightsError, fetchManifest, forgetWeights, formatBytes, obtainWeights, pruneCache, rememberWeights,
} from './weights.js';

const $ = (id) => document.getElementById(id);
const canvas = $('overlay');
const statusLine = $('status');
const top5List = $('top5');
const caption = $('caption');
const picker = $('model');

const MAX_REDOS = 3;       // after this many engine failures the photo on screen is not redone
const CANCEL_AFTER_MS = 1000; // newer work restarts an engine busy for longer than this
const STRIP_SIZE = 24;     // photos kept in the strip (the oldest leaves first)
const GRID_LAYERS = ['stem', 'layer1', 'layer2', 'layer3', 'layer4'];

let engine = null;         // engine.js handle (null while the engine starts or restarts)
let engineFailures = 0;    // engines lost this session; after two the GPU is not tried again
let manifest = null;       // weights/models.json
let chosen = null;         // the manifest entry the picker asks for
let loaded = null;         // the entry whose weights are in the engine (null while loading)
let loadToken = 0;         // bumped by every model choice; an older download is abandoned
let abortDownload = null;
let pickerNote = '';       // why the picker shows another model than asked for
let modelError = null;     // why no model is loaded, when loading failed
let generation = 0;        // bumped by every new photo, explanation or model; older work is dropped
let drawGeneration = 0;    // bumped by every redraw; an older picture is dropped
let queue = Promise.resolve();
let current = null;        // the strip entry on screen: { file, name, thumb }
let photoReady = false;    // the engine holds `current`'s decoded photo
let report = null;         // the explanation on screen (engine report)
let drawn = null;          // what the overlay shows (render info)
let drawnView = null;      // the view settings the overlay was drawn with (Save uses them)
let trust = null;          // the Trust panel's numbers (session::TrustSummary) for the map on screen
let trustRun = 0;          // counts trust checks: a reply for an older one, or for a map gone, is dropped
let trustNote = null;      // what the Trust panel says of the last check until the next map (e.g. stopped)
let running = null;        // the explanation the engine is computing: { since, timer }
let redoAfterLoad = true;  // whether a (re)loaded model explains the photo on screen
let cancels = 0;           // engines restarted to cancel long work
const strip = [];
const progress = new Progress();
const explorer = new Explorer(settingsChanged);

function setStatus(text, kind = 'info') {
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

function setCanvasState(state, cls) {
  canvas.dataset.state = state;
  // Which photo the canvas shows (tests check that a result is never another photo's).
  if (state === 'ready' && current) canvas.dataset.file = current.name;
  else delete canvas.dataset.file;
  if (cls === undefined) delete canvas.dataset.class;
  else canvas.dataset.class = String(cls);
  const saving = state === 'ready';
  for (const id of ['save-png', 'save-png16', 'save-npy', 'save-json', 'copy']) $(id).disabled = !saving;
}

function clearResult(message) {
  for (const id of ['overlay', 'photo-canvas', 'heatmap-canvas']) clearCanvas($(id));
  $('grid').replaceChildren();
  top5List.replaceChildren();
  $('legend').hidden = true;
  $('hot-box').hidden = true;
  $('timings').textContent = '';
  delete canvas.dataset.settings;
  delete canvas.dataset.flat;
  report = null;
  drawn = null;
  drawnView = null;
  caption.textContent = message;
  trustRun += 1; // a check still running is for the map that went
  trust = null;
  clearTrust(trustNote || 'Explain a photo first.', false);
}

// Runs tasks one after another so that results always land in request order.
function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

/** Whether an error only means that newer work replaced this one, or the engine failed
 * (engineFailed() reports that): neither is shown as an error. */
const quiet = (e, gen, callEngine) => e instanceof Superseded || gen !== generation || callEngine !== engine;

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

/** The fragment's or `?model=`'s model when it names one here, else the manifest's default. */
function initialModel() {
  const fallback = manifest.models.find((m) => m.name === manifest.default) || manifest.models[0];
  const asked = readFragment().model || new URLSearchParams(location.search).get('model');
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

function showDownload(model, got, total) {
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
  photoReady = false;
  explorer.model = model.name;
  explorer.writeFragment();
  delete document.body.dataset.ready;
  delete document.body.dataset.model;
  delete document.body.dataset.weightsSource;
  $('retry').hidden = true;
  picker.value = model.name;
  $('model-name').textContent = model.label;
  showModelNote(null);
  if (current && redoAfterLoad) {
    setCanvasState('working');
    top5List.replaceChildren();
    caption.textContent = `Switching to ${model.label}…`;
  }
  setStatus(`Looking for ${model.label} in this browser's cache…`);
  let weights;
  try {
    weights = await obtainWeights(model, { signal: controller.signal, onProgress: (got, total) => showDownload(model, got, total) });
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
  if (token !== loadToken || !engine) return;
  setStatus(`Loading ${model.label} into the engine…`);
  const callEngine = engine;
  try {
    const info = await callEngine.call('loadWeights', [weights.bytes]);
    if (info.arch !== model.arch || info.classes !== model.classes) {
      await callEngine.call('unloadWeights');
      throw new Error(`the file holds ${info.arch} (${info.classes} classes), but models.json `
        + `lists it as ${model.arch} (${model.classes} classes)`);
    }
    explorer.setLayers(info.layers);
  } catch (e) {
    if (callEngine !== engine) return; // the engine failed meanwhile: engineFailed() reloads
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
  explorer.writeFragment();
  const size = formatBytes(model.bytes);
  const how = weights.source === 'cache'
    ? `Loaded from cache: ${model.label} (${size}, sha256 verified).`
    : `Downloaded ${model.label} (${size}, sha256 verified${stored ? ', cached for next time' : ''}).`;
  setStatus(`${how} Drop a photo to explain it.`);
  // The photo on screen (or dropped while loading) is explained with this model now,
  // unless the user stopped that work.
  if (current && redoAfterLoad) showPhoto(current);
  else if (current) stoppedMessage();
  redoAfterLoad = true;
}

function modelFailed(model, e) {
  $('download').hidden = true;
  if (current) {
    setCanvasState('error');
    clearResult('No heatmap: the model is not loaded.');
  }
  const message = e instanceof WeightsError ? e.message : `${model.label} could not be loaded: ${e.message || e}.`;
  modelError = `${message} Press Retry to try again.`;
  setStatus(modelError, 'error');
  $('retry').hidden = false;
}

// ---- explaining and drawing ----------------------------------------------------------

function renderTop5(top5, chosenClass) {
  const items = top5.map((p) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', `class-${p.class}`);
    if (p.class === chosenClass) li.setAttribute('aria-current', 'true');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${p.label} — ${(100 * p.prob).toFixed(2)}%`;
    button.title = `Explain class ${p.class}`;
    button.addEventListener('click', () => explorer.update({ class: p.class }));
    li.append(button);
    return li;
  });
  top5List.replaceChildren(...items);
}

function showError(message) {
  setCanvasState('error');
  clearResult('No heatmap.');
  setStatus(message, 'error');
}

const targetText = (r) => (r.other === null || r.other === undefined
  ? `“${r.label}” (class ${r.class})` : `“${r.label}” rather than “${r.other_label}” (classes ${r.class} − ${r.other})`);

function timingsText(r, decodeMs, drawMs) {
  const parts = [];
  if (decodeMs !== null) parts.push(`decode ${Math.round(decodeMs)} ms`);
  if (r.reused === 'cache' || r.reused === 'activations') {
    parts.push(r.reused === 'cache' ? 'map from cache' : 'map from cached activations');
  } else {
    if (r.reused === 'layer') parts.push(`forward up to ${r.layer} reused`);
    parts.push(`preprocess ${Math.round(r.timings_ms.preprocess_ms)} ms`);
    const order = ['forward', 'backward', 'perturb', 'map'];
    const phases = Object.entries(r.timings_ms.phases_ms).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    for (const [phase, ms] of phases) parts.push(`${phase} ${Math.round(ms)} ms`);
  }
  const pixels = drawn.pixels_ms === undefined ? '' : `, pixels ${Math.round(drawn.pixels_ms)} ms`;
  parts.push(`draw ${Math.round(drawMs)} ms (render ${Math.round(drawn.render_ms)} ms in the engine${pixels}, `
    + `${drawn.width}×${drawn.height})`);
  return `${parts.join(' · ')} on ${engine ? engine.label : 'the engine'}`;
}

/** Explains the photo in the engine with the explorer's settings, then draws it. */
async function explainCurrent(gen, startedAt, decodeMs = null) {
  if (gen !== generation || !loaded || !photoReady) return;
  const model = loaded;
  const callEngine = engine;
  const name = current.name;
  setCanvasState('working');
  setStatus(`Computing ${explorer.settings.method} for ${name} with ${model.label}…`);
  progress.reset(decodeMs === null ? [] : ['decode']);
  if (decodeMs === null) progress.skip(['decode']);
  progress.enter('forward');
  const work = startRunning();
  // The pictures the current view needs come back with the map: one round trip.
  const views = wantedPictures();
  let reply;
  let drawStarted = null;
  try {
    reply = await callEngine.call('explainAndRender', [explorer.explainSettings(), views], {
      supersede: 'explain',
      onProgress: (phase) => {
        if (gen !== generation) return;
        if (phase === 'draw') drawStarted = performance.now();
        progress.enter(phase);
      },
    });
  } catch (e) {
    if (quiet(e, gen, callEngine)) return;
    showError(`Could not explain ${name}: ${e.message || e}`);
    return;
  } finally {
    stopRunning(work);
  }
  if (gen !== generation) return;
  const r = reply.report;
  if (r.reused === 'cache' || r.reused === 'activations') progress.skip(['forward', 'backward']);
  report = r;
  explorer.noteShape(r.layer, r.cam_shape);
  if (!trust || trustKey(trust) !== trustKey(r)) {
    trustRun += 1;
    trust = null;
    const prompt = 'Check how faithful this map is: the network is asked again with the photo changed where the map points.';
    clearTrust(trustNote ? `${trustNote} ${prompt}` : prompt, true, boardKey(r));
    trustNote = null;
  }
  // A display setting changed meanwhile: those pictures are stale, draw afresh.
  const fresh = JSON.stringify(views) === JSON.stringify(wantedPictures());
  if (!fresh) reply.pictures.forEach((picture) => picture.bitmap.close());
  const rendered = fresh ? { pictures: reply.pictures, drawStarted, engineMs: reply.engineMs } : null;
  await drawCurrent(gen, startedAt, decodeMs, rendered);
}

const CANVAS_OF = { overlay: 'overlay', photo: 'photo-canvas', heatmap: 'heatmap-canvas' };

/** The view settings of each picture the current view shows, the overlay first, each with
 * the device-pixel box its canvas is shown in. */
function wantedPictures() {
  const view = explorer.settings.view;
  const kinds = ['overlay', ...picturesFor(view)];
  const boxes = boxesIn(view, kinds.map((kind) => $(CANVAS_OF[kind])));
  return kinds.map((kind, i) => ({ ...explorer.viewSettings(kind), box: boxes[i] }));
}

/** Draws the explanation on screen in the current view; `gen` guards against newer work. */
async function drawCurrent(gen, startedAt, decodeMs = null, rendered = null) {
  const callEngine = engine;
  const r = report;
  if (!r || !callEngine) return;
  const drawGen = ++drawGeneration;
  const settings = explorer.settings;
  if (!rendered) progress.enter('draw');
  const drawStarted = (rendered && rendered.drawStarted) || performance.now();
  let overlay;
  let extras;
  const views = wantedPictures();
  try {
    [overlay, ...extras] = rendered ? rendered.pictures : await Promise.all(views
      .map((view) => callEngine.call('render', [view], { supersede: `render-${view.kind}` })));
  } catch (e) {
    if (quiet(e, gen, callEngine) || drawGen !== drawGeneration) return;
    showError(`Could not draw ${current.name}: ${e.message || e}`);
    return;
  }
  if (gen !== generation || drawGen !== drawGeneration) return;
  showBitmap(canvas, overlay.bitmap);
  const kinds = picturesFor(settings.view);
  extras.forEach((picture, i) => showBitmap($(kinds[i] === 'photo' ? 'photo-canvas' : 'heatmap-canvas'), picture.bitmap));
  setView(settings.view);
  progress.finish();
  drawn = overlay.info;
  canvas.dataset.flat = drawn.flat ? 'true' : 'false'; // whether the map had no positive evidence
  drawnView = views[0];
  const ms = Math.round(performance.now() - startedAt);
  canvas.dataset.ms = String(ms);
  // Time spent in the engine (worker) for this frame: the whole explain-and-render request,
  // or every picture's render.
  const engineMs = rendered ? rendered.engineMs : [overlay, ...extras].reduce((sum, p) => sum + p.info.engine_ms, 0);
  canvas.dataset.engineMs = engineMs.toFixed(1);
  canvas.dataset.renderMs = drawn.render_ms.toFixed(1); // the overlay's picture alone
  canvas.dataset.photoWidth = String(drawn.photo_width);
  canvas.dataset.photoHeight = String(drawn.photo_height);
  canvas.dataset.settings = JSON.stringify({ ...explorer.explainSettings(), ...explorer.viewSettings(), view: settings.view });
  canvas.dataset.method = r.method;
  canvas.dataset.layer = r.layer;
  if (r.other === null) delete canvas.dataset.other; else canvas.dataset.other = String(r.other);
  renderTop5(r.top5, r.class);
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
  caption.textContent = `${loaded.label}: ${r.method} at ${r.layer} (${r.cam_shape.join('×')} map) for ${targetText(r)}, `
    + `${drawn.photo_width}×${drawn.photo_height}.` + (r.note ? ` ${r.note}` : '');
  $('timings').textContent = timingsText(r, decodeMs, performance.now() - drawStarted);
  setStatus(drawn.flat
    ? `Done in ${ms} ms: ${loaded.label} found no positive evidence for ${targetText(r)}; showing the plain photo.`
    : `Done in ${ms} ms: warm colours mark where ${loaded.label} found evidence for ${targetText(r)}.`);
  if (settings.view === 'grid') drawGrid(gen, drawGen);
}

/** Fills the grid: the same photo and class under several methods (or layers). */
async function drawGrid(gen, drawGen) {
  const callEngine = engine;
  const settings = explorer.settings;
  const byMethod = settings.gridOf === 'methods';
  const cells = (byMethod ? explorer.gridMethods() : GRID_LAYERS.filter((l) => explorer.layers.includes(l)))
    .map((value) => ({ key: value, title: byMethod ? `${value} at ${settings.layer}` : `${settings.method} at ${value}` }));
  prepareGrid(cells);
  $('grid').dataset.state = 'working';
  const cellBox = pictureBox($('grid').querySelector('canvas'));
  const target = { class: report.class, other: report.other };
  for (const cell of cells) {
    if (gen !== generation || drawGen !== drawGeneration) return;
    const overrides = byMethod ? { method: cell.key, ...target } : { layer: cell.key, ...target };
    const started = performance.now();
    try {
      const { bitmap, report: r } = await callEngine.call('explainCell', [explorer.explainSettings(overrides), { ...explorer.viewSettings(), box: cellBox }]);
      if (gen !== generation || drawGen !== drawGeneration) { bitmap.close(); return; }
      fillGridCell(cell.key, bitmap, `${cell.title} · ${r.cam_shape.join('×')} · ${Math.round(performance.now() - started)} ms`);
    } catch (e) {
      if (quiet(e, gen, callEngine)) return;
      fillGridCell(cell.key, null, `${cell.title}: ${e.message || e}`, 'error');
    }
  }
  if (gen === generation && drawGen === drawGeneration) $('grid').dataset.state = 'ready';
}

/** A control changed: redo only what the change needs. */
function settingsChanged(kind) {
  if (!current || !loaded) return;
  if (!photoReady) { showPhoto(current); return; } // e.g. after Stop: explain with these settings
  const startedAt = performance.now();
  if (kind === 'explain') {
    if (cancelLongWork('a newer setting')) return; // the restarted engine explains it
    const gen = ++generation;
    explainCurrent(gen, startedAt);
  } else if (report) {
    drawCurrent(generation, startedAt);
  }
}

// ---- the trust check -------------------------------------------------------------------

const trustKey = (r) => `${r.method}|${r.layer}|${r.class}|${r.other ?? ''}`;
const boardKey = (r) => `${current ? current.name : ''}|${r.layer}|${r.class}|${r.other ?? ''}`;

/** Runs Trust panel work for the map on screen, with Stop: `body(callEngine, r, stillCurrent)`,
 * `stillCurrent()` telling whether its result is still for the map on screen. A failure or a
 * stop empties the panel, naming `what` was stopped. */
async function trustWork(what, body) {
  const callEngine = engine;
  const r = report;
  if (!r || !callEngine) return;
  const gen = generation;
  const run = ++trustRun;
  const stillCurrent = () => run === trustRun && gen === generation && report === r;
  const work = startRunning('trust');
  try {
    await body(callEngine, r, stillCurrent);
  } catch (e) {
    if (run !== trustRun) return;
    const why = quiet(e, gen, callEngine) ? `The ${what} was stopped.` : `The ${what} failed: ${e.message || e}`;
    clearTrust(why, Boolean(report) && engine === callEngine);
  } finally {
    stopRunning(work);
  }
}

/** Scores the map on screen in the engine (Trust panel), with progress. */
function runTrust() {
  return trustWork('check', async (callEngine, r, stillCurrent) => {
    const started = performance.now();
    trustWorking();
    const summary = await callEngine.call('trust', [{ ...trustSettings(), photo: current.name }], {
      supersede: 'trust',
      onProgress: (phase) => { if (stillCurrent()) trustWorking(phase); },
    });
    if (!stillCurrent()) return;
    trust = { ...summary, other: r.other };
    const what = `${explorer.methodTitle(summary.method)} at ${summary.layer} for ${r.label}`;
    showTrust(summary, what, performance.now() - started);
  });
}

/** Ranks every single-pass method (and the baselines) on this photo, class and layer by one
 * metric: each map is computed and scored in the engine, the one on screen is kept. */
function rankMethods() {
  return trustWork('ranking', async (callEngine, r, stillCurrent) => {
    const metric = $('board-metric').value;
    const metrics = [metric.replace(/_auc$/, '')];
    const steps = Number($('trust-steps').value);
    const methods = explorer.gridMethods();
    const entries = [];
    for (const [i, method] of methods.entries()) {
      boardWorking(i, methods.length, explorer.methodTitle(method));
      const explain = { method, layer: explorer.settings.layer, class: r.class, other: r.other };
      const started = performance.now();
      const summary = await callEngine.call('trust', [{ metrics, steps, baselines: i === 0, explain }], { supersede: 'trust' });
      if (!stillCurrent()) return;
      let baselinesMs = 0;
      for (const [name, baseline] of Object.entries(summary.baselines)) {
        const time = Object.values(baseline.timings_ms).reduce((a, b) => a + b, 0);
        baselinesMs += time;
        entries.push({ map: name, title: name.replace(/^baseline-/, ''), score: baseline.metrics[metric], ms: time, baseline: true });
      }
      const ms = performance.now() - started - baselinesMs;
      entries.push({ map: method, title: explorer.methodTitle(method), score: summary.report.metrics[metric], ms });
    }
    showBoard(boardKey(r), entries, metric, (method) => explorer.update({ method }));
    $('trust-status').textContent = `Ranked ${methods.length} methods and ${entries.length - methods.length} baselines by ${metric.replace('_', ' ')} (${steps} steps).`;
    $('trust-run').disabled = false;
    $('board-run').disabled = false;
  });
}

function wireTrust() {
  $('trust-run').addEventListener('click', () => runTrust());
  $('board-run').addEventListener('click', () => rankMethods());
  $('trust-save').addEventListener('click', () => {
    if (!trust || !current) return;
    const json = { photo: current.name, model: loaded && loaded.name, backend: engine && engine.label,
      settings: trustSettings(), ...trust };
    download(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }),
      `${baseName(current.name, explorer.settings, trust.class)}-trust.json`);
  });
  // The engine's table, as `gradcam evaluate --csv` writes it.
  $('trust-csv').addEventListener('click', () => {
    if (!trust || !current) return;
    download(new Blob([trust.csv], { type: 'text/csv' }), `${baseName(current.name, explorer.settings, trust.class)}-trust.csv`);
  });
}

// ---- cancelling long work -------------------------------------------------------------

/** Marks work as running (`kind`: 'explain' or 'trust'); after CANCEL_AFTER_MS the Stop
 * button appears. */
function startRunning(kind = 'explain') {
  const work = { since: performance.now(), kind };
  work.timer = setTimeout(() => { if (running === work) $('stop').hidden = false; }, CANCEL_AFTER_MS);
  running = work;
  return work;
}

function stopRunning(work) {
  clearTimeout(work.timer);
  if (running === work) {
    running = null;
    $('stop').hidden = true;
  }
}

/** Work running in the engine cannot be interrupted: when it has run for a while and newer
 * work arrives, the engine is restarted (a fresh worker; the model comes back from the
 * cache) and the newer work runs there. Returns whether it did so. */
function cancelLongWork(why) {
  if (!running || !engine || performance.now() - running.since < CANCEL_AFTER_MS) return false;
  restartEngine(`Cancelled the running ${explorer.settings.method} for ${why}`, true);
  return true;
}

/** Restarts the engine on the same backend; `redo` explains the photo on screen afterwards. */
function restartEngine(message, redo) {
  const old = engine;
  cancels += 1;
  document.body.dataset.engineCancels = String(cancels);
  redoAfterLoad = redo;
  setCanvasState(redo ? 'working' : 'stopped');
  clearResult(redo ? `${message}: restarting the engine…` : 'Stopped.');
  progress.reset([]);
  setStatus(`${message}: restarting the engine…`, 'warning');
  replaceEngine(old, old.onGpu);
}

/** Drops `old` and all it was doing, then (in the queue) boots a fresh engine, runs
 * `onBooted()` and reloads the chosen model, which explains the photo on screen. */
function replaceEngine(old, allowGpu, onBooted = () => {}) {
  old.dispose();
  engine = null;
  generation += 1; // whatever the old engine was doing is void
  loadToken += 1;
  loaded = null;
  photoReady = false;
  clearTimeout(running && running.timer);
  running = null;
  $('stop').hidden = true;
  delete document.body.dataset.ready;
  queue = Promise.resolve(); // a task of the old engine may never finish: do not wait on it
  enqueue(async () => {
    try {
      await bootEngine({ allowGpu });
    } catch (e) {
      setStatus(`The engine could not be restarted: ${e.message || e}. Reload the page.`, 'error');
      return;
    }
    onBooted();
    if (chosen) loadModel(chosen);
  });
}

function stoppedMessage() {
  setCanvasState('stopped');
  setStatus(`Stopped: ${current.name} was not explained with ${explorer.settings.method}. Change a setting to explain it another way.`);
}

// ---- photos -------------------------------------------------------------------------

function showStrip() {
  const list = $('strip');
  list.hidden = strip.length < 2;
  list.replaceChildren(...strip.map((entry, i) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.testid = `strip-${i}`;
    button.title = entry.name;
    if (entry === current) button.setAttribute('aria-current', 'true');
    const img = document.createElement('img');
    img.src = entry.thumb;
    img.alt = '';
    const label = document.createElement('span');
    label.textContent = entry.name;
    button.append(img, label);
    button.addEventListener('click', () => { if (entry !== current) showPhoto(entry); });
    li.append(button);
    return li;
  }));
}

/** Adds photos to the strip and shows the first of them. */
function addFiles(files) {
  const entries = files.map((file) => ({ file, name: file.name || 'pasted image', thumb: URL.createObjectURL(file) }));
  strip.push(...entries);
  while (strip.length > STRIP_SIZE) URL.revokeObjectURL(strip.shift().thumb);
  showPhoto(entries[0]);
}

/** Decodes `entry` in the engine and explains it. */
function showPhoto(entry) {
  const gen = ++generation;
  current = entry;
  photoReady = false;
  showStrip();
  const startedAt = performance.now();
  if (!loaded) {
    // Explained as soon as the model is in (after a failed load, once Retry succeeds).
    if (modelError) {
      showError(`${entry.name} cannot be explained yet: ${modelError}`);
    } else {
      setCanvasState('working');
      caption.textContent = `${entry.name} will be explained once the model is loaded.`;
    }
    return;
  }
  if (cancelLongWork('a newer photo')) return; // the restarted engine explains it
  setCanvasState('working');
  setStatus(`Reading ${entry.name}…`);
  progress.reset([]);
  progress.enter('decode');
  enqueue(async () => {
    if (gen !== generation || !loaded) return;
    const callEngine = engine;
    const bytes = new Uint8Array(await entry.file.arrayBuffer());
    if (gen !== generation) return;
    let size;
    try {
      size = await callEngine.call('setPhoto', [bytes], { transfer: [bytes.buffer] });
    } catch (e) {
      if (quiet(e, gen, callEngine)) return;
      progress.reset([]);
      showError(`${entry.name} is not a usable photo: ${e.message || e}`);
      return;
    }
    if (gen !== generation) return;
    progress.finish();
    photoReady = true;
    caption.textContent = `${entry.name}: ${size.width}×${size.height}`;
    await explainCurrent(gen, startedAt, size.decode_ms);
  });
}

/** The files of a FileList (absent on drops and pastes that carry none). */
const filesOf = (list) => [...(list || [])];

function wireInputs() {
  const input = $('photo-input');
  input.addEventListener('change', () => {
    const files = filesOf(input.files);
    if (files.length) addFiles(files);
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
    const files = filesOf(e.dataTransfer && e.dataTransfer.files);
    if (files.length) addFiles(files);
    else setStatus('That drop held no file: drop a photo file.', 'error');
  });
  document.addEventListener('paste', (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return; // typing a class name
    const files = filesOf(e.clipboardData && e.clipboardData.files);
    e.preventDefault();
    if (files.length) addFiles(files.map((f) => (f.name ? f : new File([f], 'pasted image', { type: f.type }))));
    else setStatus('The clipboard holds no image to explain.', 'error');
  });
  $('retry').addEventListener('click', () => loadModel(chosen));
  $('stop').addEventListener('click', () => {
    // Stopping a trust check keeps the map: the fresh engine explains it again.
    if (running && engine) {
      const checking = running.kind === 'trust';
      if (checking) trustNote = 'The check was stopped.';
      restartEngine(checking ? 'Stopped the trust check' : `Stopped ${explorer.settings.method}`, checking);
    }
  });
}

async function fillGallery() {
  let samples;
  try {
    const response = await fetch('samples/samples.json');
    if (!response.ok) return;
    ({ samples } = await response.json());
  } catch {
    return; // offline before the first visit finished: the gallery stays empty
  }
  $('gallery').replaceChildren(...samples.map((sample) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sample';
    button.dataset.testid = `sample-${sample.file}`;
    button.title = `${sample.label} (${sample.credit})`;
    const img = document.createElement('img');
    img.src = `samples/${sample.file}`;
    img.alt = sample.label;
    button.append(img);
    button.addEventListener('click', async () => {
      try {
        const response = await fetch(`samples/${sample.file}`);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const blob = await response.blob();
        addFiles([new File([blob], sample.file, { type: blob.type })]);
      } catch (e) {
        setStatus(`The sample ${sample.label} could not be read: ${e.message || e}`, 'error');
      }
    });
    return button;
  }));
}

// ---- saving -------------------------------------------------------------------------

function wireSaving() {
  const name = () => baseName(current.name, explorer.settings, report.class);
  const fromEngine = (op, ext, type) => async () => {
    try {
      const bytes = await engine.call(op);
      download(new Blob([bytes], { type }), `${name()}.${ext}`);
      showMemory();
    } catch (e) {
      setStatus(`Could not save the map: ${e.message || e}`, 'error');
    }
  };
  // The overlay on screen, rendered again at the photo's resolution (streamed by the engine).
  const overlayPng = () => engine.call('overlayPng', [drawnView]);
  $('save-png').addEventListener('click', async () => {
    try {
      const { blob } = await overlayPng();
      download(blob, `${name()}.png`);
      showMemory();
    } catch (e) {
      setStatus(`Could not save the overlay: ${e.message || e}`, 'error');
    }
  });
  $('save-png16').addEventListener('click', fromEngine('mapPng16', 'map16.png', 'image/png'));
  $('save-npy').addEventListener('click', fromEngine('mapNpy', 'npy', 'application/octet-stream'));
  $('save-json').addEventListener('click', () => {
    const json = {
      photo: { name: current.name, width: drawn.photo_width, height: drawn.photo_height },
      model: loaded.name,
      backend: engine.label,
      settings: { ...explorer.settings },
      explained: { class: report.class, label: report.label, other: report.other, other_label: report.other_label,
        method: report.method, layer: report.layer, map_shape: report.cam_shape, range: drawn && drawn.range, hot_box: drawn && drawn.hot_box },
      top5: report.top5,
      timings_ms: report.timings_ms,
      link: location.href,
    };
    download(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }), `${name()}.json`);
  });
  $('copy').addEventListener('click', async () => {
    try {
      const png = overlayPng();
      await copyPng(png.then((p) => p.blob));
      const { info } = await png;
      setStatus(`Copied the overlay (${info.width}×${info.height}) to the clipboard.`);
    } catch (e) {
      setStatus(`Could not copy the overlay: ${e.message || e}`, 'error');
    }
  });
}

/** A window resized (or zoomed: devicePixelRatio changes) redraws the pictures for their
 * new boxes once it settles. */
function wireResize() {
  let timer = null;
  addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const stale = drawnView && JSON.stringify(drawnView.box) !== JSON.stringify(wantedPictures()[0].box);
      // Only a finished picture is redrawn: newer work (a photo being read) draws its own.
      const idle = canvas.dataset.state === 'ready' && photoReady;
      if (report && idle && stale && explorer.settings.view !== 'grid') drawCurrent(generation, performance.now());
    }, 150);
  });
}

// ---- the engine ---------------------------------------------------------------------

/** Memory in use, shown to the user and read by the long-session test. */
function showMemory() {
  const memory = engine && engine.memory();
  if (!memory) return;
  const line = $('memory');
  line.dataset.wasmBytes = String(memory.wasmBytes);
  line.dataset.jsBytes = String(performance.memory ? performance.memory.usedJSHeapSize : '');
  const gpu = memory.gpuBytes === null ? '' : `, GPU ${formatBytes(memory.gpuBytes)} in use (${formatBytes(memory.gpuReserved)} reserved)`;
  line.dataset.gpuBytes = memory.gpuBytes === null ? '' : String(memory.gpuBytes);
  line.dataset.gpuReserved = memory.gpuReserved === null ? '' : String(memory.gpuReserved);
  line.textContent = `Memory: engine ${formatBytes(memory.wasmBytes)}${gpu}.`;
}

const SOFTWARE_GPU_KEY = 'gradcam-web.softwareGpu';

/** Whether the user chose WebGPU even where only a software GPU exists (kept across visits). */
function softwareGpuAllowed() {
  try { return localStorage.getItem(SOFTWARE_GPU_KEY) === 'allow'; } catch { return false; }
}

/** The "use the software GPU anyway" box: shown where WebGPU offers only a software GPU;
 * changing it restarts the engine with the choice (and redoes the photo on screen). */
function wireSoftwareGpu() {
  $('software-gpu-toggle').addEventListener('change', (e) => {
    try {
      if (e.target.checked) localStorage.setItem(SOFTWARE_GPU_KEY, 'allow');
      else localStorage.removeItem(SOFTWARE_GPU_KEY);
    } catch { /* storage refused: the choice lasts for this engine only */ }
    if (!engine) return;
    redoAfterLoad = Boolean(current);
    if (current) {
      setCanvasState('working');
      clearResult(`${current.name} will be explained again on the new backend.`);
    }
    setStatus('Restarting the engine…');
    replaceEngine(engine, true);
  });
}

async function bootEngine(options) {
  const started = await startEngine({ ...options, allowSoftwareGpu: softwareGpuAllowed() });
  engine = started;
  document.body.dataset.backend = started.onGpu ? 'webgpu' : 'cpu';
  $('backend').textContent = `Backend: ${started.label}`;
  $('software-gpu').hidden = !started.softwareGpu;
  $('software-gpu-toggle').checked = started.onGpu;
  if (!explorer.catalogue) explorer.setCatalogue(started.catalogue);
  started.failed.then((why) => engineFailed(started, why));
}

/** The engine lost its GPU or trapped: nothing it computed is shown as current, and a fresh
 * engine (on the GPU once more, then on the CPU) reloads the model and redoes the photo. */
function engineFailed(failed, why) {
  if (failed !== engine) return;
  engineFailures += 1;
  const allowGpu = failed.onGpu && engineFailures < 2;
  const message = `${why[0].toUpperCase()}${why.slice(1)}. Restarting the engine${allowGpu ? '' : ' on the CPU'}…`;
  const givingUp = current && engineFailures > MAX_REDOS;
  if (givingUp) {
    // The same photo keeps failing the engine: stop redoing it, or we would loop for ever.
    showError(`${current.name} was not explained: the engine failed ${engineFailures} times in this session.`);
    current = null;
  } else if (current) {
    setCanvasState('working');
    clearResult(`${current.name} will be explained again once the engine has restarted.`);
  }
  if (!givingUp) setStatus(message, 'warning');
  const note = $('engine-note');
  note.textContent = `${why[0].toUpperCase()}${why.slice(1)}; the engine was restarted.`;
  note.hidden = false;
  document.body.dataset.engineRestarts = String(engineFailures);
  replaceEngine(failed, allowGpu, () => {
    note.textContent = `${why[0].toUpperCase()}${why.slice(1)}; the engine was restarted on ${engine.label}.`;
  });
}

function registerServiceWorker() {
  // The app works offline after the first visit; weights are cached by weights.js.
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('./sw.js').catch(() => {});
  }
}

async function start() {
  wireInputs();
  wireSaving();
  wireSwipe();
  wireSoftwareGpu();
  wireTrust();
  explorer.wire();
  explorer.restore(readFragment().settings);
  setView(explorer.settings.view);
  wireReadout(
    async (...point) => (report && engine
      ? engine.call('valueAt', [...point, explorer.viewSettings()], { supersede: 'value' }) : null),
    (found) => `map value ${found.value.toPrecision(4)} (${Math.round(100 * found.share)}% of the colour scale)`,
  );
  wireResize();
  registerServiceWorker();
  fillGallery();
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
