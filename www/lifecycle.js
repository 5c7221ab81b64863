// The engine's lifecycle: starting it, the queue that keeps engine work in request order,
// long work (when Stop appears, whether newer work should cancel it), replacing an engine,
// the software-GPU choice and the memory line. What to do after a restart is app.js's call.

import { Superseded, startEngine } from './engine.js';
import { $, setStatus } from './screen.js';
import { explorer, isCurrent, nextEpoch, state } from './state.js';
import { showMetricFacts } from './trust.js';
import { formatBytes } from './weights.js';

const CANCEL_AFTER_MS = 1000; // newer work restarts an engine busy for longer than this
const SOFTWARE_GPU_KEY = 'gradcam-web.softwareGpu';

let queue = Promise.resolve();

/** Runs `task` after every task queued before it, so results land in request order;
 * resolves to its result. */
export function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

/** Whether an error only means that newer work replaced this one (started in `epoch`), or
 * the engine failed (app.js hears that from `failed`): neither is shown as an error. */
export const quiet = (e, epoch) => e instanceof Superseded || !isCurrent(epoch);

/** Marks long engine work as running (`kind`: 'explain' or 'trust'); after CANCEL_AFTER_MS
 * the Stop button appears. */
export function startJob(kind) {
  const job = { since: performance.now(), kind };
  job.timer = setTimeout(() => { if (state.job === job) $('stop').hidden = false; }, CANCEL_AFTER_MS);
  state.job = job;
  return job;
}

export function endJob(job) {
  clearTimeout(job.timer);
  if (state.job === job) {
    state.job = null;
    $('stop').hidden = true;
  }
}

/** Whether work has run long enough that newer work should cancel it by a restart. */
export const jobIsLong = () => Boolean(state.job && state.engine && performance.now() - state.job.since >= CANCEL_AFTER_MS);

/** Whether the user chose WebGPU even where only a software GPU exists (kept across visits). */
export function softwareGpuAllowed() {
  try { return localStorage.getItem(SOFTWARE_GPU_KEY) === 'allow'; } catch { return false; }
}

export function rememberSoftwareGpu(allowed) {
  try {
    if (allowed) localStorage.setItem(SOFTWARE_GPU_KEY, 'allow');
    else localStorage.removeItem(SOFTWARE_GPU_KEY);
  } catch { /* storage refused: the choice lasts for this engine only */ }
}

/** Starts an engine and makes it the page's; `onFailed(engine, why)` hears if it fails. */
export async function bootEngine(options, onFailed) {
  const started = await startEngine({ ...options, allowSoftwareGpu: softwareGpuAllowed() });
  performance.mark('gradcam:engine-ready'); // the wasm compiled and instantiated in the worker
  state.engine = started;
  document.body.dataset.backend = started.onGpu ? 'webgpu' : 'cpu';
  $('backend').textContent = `Backend: ${started.label}`;
  $('software-gpu').hidden = !started.softwareGpu;
  $('software-gpu-toggle').checked = started.onGpu;
  if (!explorer.catalogue) {
    explorer.setCatalogue(started.catalogue);
    showMetricFacts();
  }
  started.failed.then((why) => onFailed(started, why));
}

/** Drops the engine and all it was doing (a new epoch; the model must be loaded again),
 * then, in the queue, boots a fresh one and calls `afterBoot()`. */
export function replaceEngine(allowGpu, onFailed, afterBoot) {
  state.engine.dispose();
  state.engine = null;
  nextEpoch();
  if (state.loading) state.loading.controller.abort();
  state.loading = null;
  state.loaded = null;
  state.decoded = null;
  if (state.job) endJob(state.job);
  delete document.body.dataset.ready;
  queue = Promise.resolve(); // a task of the old engine may never finish: do not wait on it
  enqueue(async () => {
    try {
      await bootEngine({ allowGpu }, onFailed);
    } catch (e) {
      setStatus(`The engine could not be restarted: ${e.message || e}. Reload the page.`, 'error');
      return;
    }
    afterBoot();
  });
}

/** Memory in use, shown to the user and read by the long-session test. */
export function showMemory() {
  const memory = state.engine && state.engine.memory();
  if (!memory) return;
  const line = $('memory');
  line.dataset.wasmBytes = String(memory.wasmBytes);
  line.dataset.jsBytes = String(performance.memory ? performance.memory.usedJSHeapSize : '');
  const gpu = memory.gpuBytes === null ? '' : `, GPU ${formatBytes(memory.gpuBytes)} in use (${formatBytes(memory.gpuReserved)} reserved)`;
  line.dataset.gpuBytes = memory.gpuBytes === null ? '' : String(memory.gpuBytes);
  line.dataset.gpuReserved = memory.gpuReserved === null ? '' : String(memory.gpuReserved);
  line.textContent = `Memory: engine ${formatBytes(memory.wasmBytes)}${gpu}.`;
}
