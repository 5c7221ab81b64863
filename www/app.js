// The page's flow: what happens on each event, in one file. The state is one object
// (state.js, whose header gives the rule for stale replies: one epoch); the modules this
// file calls do the work and the display — models.js loads weights, photos.js gathers
// photos, drawing.js explains and draws, trust-check.js runs the Trust panel, audit.js audits
// a folder, lifecycle.js starts and replaces the engine, screen.js says what is going on.
// Every heatmap and picture comes from Rust in a Web Worker (engine.js, worker.js).
//
// A photo dropped while another is being explained: `showPhoto` starts a new epoch, so the
// running explanation's reply is dropped when it lands. If that work has already run for a
// second, the engine is restarted instead (`cancelLongWork`) and the fresh engine, once the
// model is back, explains the new photo. Otherwise the new photo's decode waits in the
// engine queue behind the running work, then it is explained and drawn.

import { auditDroppedEntries, wireAudit } from './audit.js';
import { drawShown, explainShown, wireResize } from './drawing.js';
import { readFragment } from './explorer.js';
import { wireSaving } from './exports.js';
import {
  bootEngine, enqueue, jobIsLong, quiet, rememberSoftwareGpu, replaceEngine,
} from './lifecycle.js';
import { abandonLoading, fillPicker, initialModel, loadModel, showPickerOptions } from './models.js';
import { storedOwnModels, wireOwnModels } from './own-models.js';
import { showStrip, wirePhotos } from './photos.js';
import {
  $, clearResult, progress, setCanvasState, setStatus, showError, showStopped,
} from './screen.js';
import { explorer, isCurrent, nextEpoch, shownIsCurrent, state } from './state.js';
import { wireShortcuts } from './shortcuts.js';
import { wireTrust } from './trust-check.js';
import { wireGroundTruth } from './ground-truth.js';
import { setView, wireReadout, wireSwipe } from './views.js';
import { fetchManifest, pruneCache } from './weights.js';
import { resetZoom, wireZoom } from './zoom.js';

const MAX_REDOS = 3; // after this many engine failures the photo on screen is not redone

// ---- a photo ---------------------------------------------------------------------------

/** Shows `entry`: decodes it in the engine (in the queue), then explains and draws it. */
function showPhoto(entry) {
  const epoch = nextEpoch();
  state.photo = entry;
  state.decoded = null;
  document.body.dataset.photo = 'shown'; // the drop zone gives the picture its place
  resetZoom();
  showStrip(showPhoto);
  const startedAt = performance.now();
  if (!state.loaded) {
    // Explained as soon as the model is in (after a failed load, once Retry succeeds).
    if (state.modelError) {
      showError(`${entry.name} cannot be explained yet: ${state.modelError}`);
    } else {
      setCanvasState('working');
      $('caption').textContent = `${entry.name} will be explained once the model is loaded.`;
    }
    return;
  }
  if (cancelLongWork('a newer photo')) return; // the restarted engine explains it
  setCanvasState('working');
  setStatus(`Reading ${entry.name}…`);
  progress.reset([]);
  progress.enter('decode');
  enqueue(async () => {
    if (!isCurrent(epoch) || !state.loaded) return;
    const { engine } = state;
    const bytes = new Uint8Array(await entry.file.arrayBuffer());
    if (!isCurrent(epoch)) return;
    let size;
    try {
      size = await engine.call('setPhoto', [bytes], { transfer: [bytes.buffer] });
    } catch (e) {
      if (quiet(e, epoch)) return;
      progress.reset([]);
      showError(`${entry.name} is not a usable photo: ${e.message || e}`);
      return;
    }
    if (!isCurrent(epoch)) return;
    progress.finish();
    state.decoded = entry;
    $('caption').textContent = `${entry.name}: ${size.width}×${size.height}`;
    await explainShown(epoch, startedAt, size.decode_ms);
  });
}

/** The photo `step` places along the strip from the one on screen (a shortcut). */
function nextPhoto(step) {
  const at = state.strip.indexOf(state.photo);
  const entry = state.strip[at + step];
  if (at >= 0 && entry) showPhoto(entry);
}

// ---- a setting -------------------------------------------------------------------------

/** A control changed: `kind` 'explain' needs a new map (a new epoch), 'draw' only a redraw of
 * the map on screen (an explanation still coming draws with the new settings itself). The
 * frame's timings count from `inputAt`, when the user's input happened. */
function settingsChanged(kind, _changes, inputAt = performance.now()) {
  if (!state.photo || !state.loaded) return;
  if (state.decoded !== state.photo) { showPhoto(state.photo); return; } // e.g. after Stop
  const startedAt = inputAt;
  if (kind === 'explain') {
    if (cancelLongWork('a newer setting')) return; // the restarted engine explains it
    explainShown(nextEpoch(), startedAt);
  } else if (shownIsCurrent()) {
    drawShown(startedAt);
  }
}

// ---- a model ---------------------------------------------------------------------------

/** Loads `model`; once it is in, the photo on screen (or dropped meanwhile) is explained
 * with it, unless the user stopped that work. */
async function chooseModel(model) {
  if (!(await loadModel(model))) return;
  if (state.photo && state.redoAfterLoad) showPhoto(state.photo);
  else if (state.photo) showStopped();
  state.redoAfterLoad = true;
}

// ---- stopping, cancelling and engine failures --------------------------------------------

/** Work running in the engine cannot be interrupted: when it has run for a while and newer
 * work arrives, the engine is restarted (a fresh worker; the model comes back from the
 * cache) and the newer work runs there. Returns whether it did so. */
function cancelLongWork(why) {
  if (!jobIsLong()) return false;
  restartEngine(`Cancelled the running ${explorer.settings.method} for ${why}`, true);
  return true;
}

/** Restarts the engine on the same backend; `redo` explains the photo on screen afterwards. */
function restartEngine(message, redo) {
  state.cancels += 1;
  document.body.dataset.engineCancels = String(state.cancels);
  state.redoAfterLoad = redo;
  setCanvasState(redo ? 'working' : 'stopped');
  clearResult(redo ? `${message}: restarting the engine…` : 'Stopped.');
  progress.reset([]);
  setStatus(`${message}: restarting the engine…`, 'warning');
  replaceEngine(state.engine.onGpu, engineFailed, reloadModel);
}

/** After a restart: the chosen model again (which explains the photo on screen). */
function reloadModel() {
  if (state.chosen) chooseModel(state.chosen);
}

/** Stop: the running work is dropped with its engine. Stopping a trust check keeps the map:
 * the fresh engine explains it again. */
function stop() {
  if (!state.job || !state.engine) return;
  const checking = state.job.kind === 'trust';
  if (checking) state.trustNote = 'The check was stopped.';
  restartEngine(checking ? 'Stopped the trust check' : `Stopped ${explorer.settings.method}`, checking);
}

/** The engine lost its GPU or trapped: nothing it computed is shown as current, and a fresh
 * engine (on the GPU once more, then on the CPU) reloads the model and redoes the photo. */
function engineFailed(failed, why) {
  if (failed !== state.engine) return;
  state.failures += 1;
  const allowGpu = failed.onGpu && state.failures < 2;
  const said = `${why[0].toUpperCase()}${why.slice(1)}`;
  const givingUp = state.photo && state.failures > MAX_REDOS;
  if (givingUp) {
    // The same photo keeps failing the engine: stop redoing it, or we would loop for ever.
    showError(`${state.photo.name} was not explained: the engine failed ${state.failures} times in this session.`);
    state.photo = null;
  } else if (state.photo) {
    setCanvasState('working');
    clearResult(`${state.photo.name} will be explained again once the engine has restarted.`);
  }
  if (!givingUp) setStatus(`${said}. Restarting the engine${allowGpu ? '' : ' on the CPU'}…`, 'warning');
  const note = $('engine-note');
  note.textContent = `${said}; the engine was restarted.`;
  note.hidden = false;
  document.body.dataset.engineRestarts = String(state.failures);
  replaceEngine(allowGpu, engineFailed, () => {
    note.textContent = `${said}; the engine was restarted on ${state.engine.label}.`;
    reloadModel();
  });
}

/** The "use the software GPU anyway" box: restarts the engine with the choice and redoes
 * the photo on screen. */
function softwareGpuChanged(allowed) {
  rememberSoftwareGpu(allowed);
  if (!state.engine) return;
  state.redoAfterLoad = Boolean(state.photo);
  if (state.photo) {
    setCanvasState('working');
    clearResult(`${state.photo.name} will be explained again on the new backend.`);
  }
  setStatus('Restarting the engine…');
  replaceEngine(true, engineFailed, reloadModel);
}

// ---- start -----------------------------------------------------------------------------

const RELOADED_FOR_ISOLATION = 'gradcam-web.reloadedForIsolation';

function registerServiceWorker() {
  // The app works offline after the first visit; weights are cached by weights.js.
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('./sw.js').catch(() => {});
    // Not isolated (a static host without the headers): once sw.js controls the page, a
    // reload is isolated and gets the threaded engine. Once per tab, and only before a photo.
    if (!window.crossOriginIsolated && !sessionStorage.getItem(RELOADED_FOR_ISOLATION)) {
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        if (state.photo) return;
        sessionStorage.setItem(RELOADED_FOR_ISOLATION, '1');
        location.reload();
      }, { once: true });
    }
  }
}

async function start() {
  explorer.onChange = settingsChanged;
  const addPhotos = wirePhotos(showPhoto, auditDroppedEntries);
  wireAudit({ open: (file) => addPhotos([file]) });
  wireSaving();
  wireSwipe();
  wireTrust();
  wireGroundTruth();
  wireZoom();
  wireShortcuts({ nextPhoto });
  $('retry').addEventListener('click', () => chooseModel(state.chosen));
  wireOwnModels({
    onAdded: (model) => chooseModel(model),
    onRemoved: (model) => {
      setStatus(`Removed ${model.label} from this browser.`);
      chooseModel(state.manifest.models.find((m) => m.name === state.manifest.default) || state.manifest.models[0]);
      showPickerOptions();
    },
  });
  $('stop').addEventListener('click', stop);
  $('software-gpu-toggle').addEventListener('change', (e) => softwareGpuChanged(e.target.checked));
  explorer.wire();
  explorer.restore(readFragment().settings);
  setView(explorer.settings.view);
  wireReadout(
    async (...point) => (state.shown && state.engine
      ? state.engine.call('valueAt', [...point, explorer.viewSettings()], { supersede: 'value' }) : null),
    (found) => `map value ${found.value.toPrecision(4)} (${Math.round(100 * found.share)}% of the colour scale)`,
  );
  wireResize();
  registerServiceWorker();
  // The weights download while the engine starts; queued work waits for the engine.
  const booting = bootEngine({}, engineFailed);
  enqueue(() => booting.catch(() => {}));
  try {
    state.manifest = await fetchManifest();
  } catch (e) {
    state.modelError = `The list of models could not be read: ${e.message || e}. Reload the page to try again.`;
    setStatus(state.modelError, 'error');
    return;
  }
  state.manifest.models.push(...storedOwnModels());
  fillPicker(chooseModel);
  chooseModel(initialModel());
  pruneCache(state.manifest).catch(() => {});
  await booting;
}

start().catch((e) => {
  abandonLoading(); // stop reporting download progress over this message
  setStatus(`The app failed to start: ${e.message || e}`, 'error');
});
