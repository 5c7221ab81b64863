// Starting the wasm engine, and noticing when it can no longer be trusted: its GPU device
// was lost, or the wasm trapped. Each start gets a fresh wasm instance, so a restart never
// inherits the state of an engine that failed half-way.

const GLUE = './gradcam-web.js';
const WASM = new URL('./gradcam-web_bg.wasm', import.meta.url);

let starts = 0;
// GPUDevices created by the engine being started: the wasm asks for its device through
// WebGPU's JS API, and this is the one place where we can watch that device's `lost`.
let newDevices = [];
if (globalThis.GPUAdapter && GPUAdapter.prototype.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function watchedRequestDevice(...args) {
    const device = await requestDevice.apply(this, args);
    newDevices.push(device);
    return device;
  };
}

/** Why WebGPU cannot be used here, or the adapter's name: { name } or { reason }. */
async function probeGpu() {
  if (!('gpu' in navigator) || !navigator.gpu) return { reason: 'this browser has no WebGPU' };
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { reason: 'no WebGPU adapter is available' };
    const info = adapter.info || {};
    return { name: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter' };
  } catch (e) {
    return { reason: `the WebGPU adapter request failed (${e.message || e})` };
  }
}

// A wasm trap (a Rust panic) surfaces as an uncaught WebAssembly.RuntimeError. Its stack
// names the glue module it came through (`gradcam-web.js?start=N`), hence which engine
// trapped: an engine that was replaced may still trap without harming its successor.
const crashListeners = new Map(); // start number → listener
function startOf(error) {
  const match = /gradcam-web\.js(?:\?start=(\d+))?:/.exec(String(error.stack || ''));
  return match ? Number(match[1] || 0) : null;
}
function reportCrash(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return;
  const start = startOf(error);
  for (const [owner, listener] of crashListeners) if (start === null || start === owner) listener(error);
}
addEventListener('error', (e) => reportCrash(e.error));
addEventListener('unhandledrejection', (e) => reportCrash(e.reason));

/**
 * Loads a fresh engine. `allowGpu: false` goes straight to the CPU (flex) backend.
 * Resolves to { app, onGpu, label, failed, memory, dispose }: `failed` resolves with a
 * sentence once the engine must not be used any more (device lost, wasm trap);
 * `memory()` gives { wasmBytes, gpuBytes, gpuReserved } (GPU figures null on the CPU).
 */
export async function startEngine({ allowGpu = true } = {}) {
  const start = starts++;
  // A new module URL is a new module record, hence a new wasm instance.
  const glue = await import(start === 0 ? GLUE : `${GLUE}?start=${start}`);
  const exports = await glue.default({ module_or_path: WASM });
  const gpu = allowGpu ? await probeGpu() : { reason: 'the GPU failed earlier in this session' };
  newDevices = [];
  const app = await glue.App.create(Boolean(gpu.name));
  const onGpu = app.backend.startsWith('webgpu');
  const device = onGpu ? newDevices.at(-1) : null;
  newDevices = [];
  // wgpu's errors carry the JS error's stack (`undefined` here) on a second line.
  const reason = gpu.reason || app.backend.replace(/^cpu \((.*)\)$/s, '$1').replace(/\n(undefined)?/g, ' ').trim();
  const label = onGpu ? `WebGPU (${gpu.name})` : `CPU (${reason})`;

  const crashed = new Promise((resolve) => {
    crashListeners.set(start, (e) => resolve(`the engine stopped with an internal error (${e.message})`));
  });
  const lost = device
    ? device.lost.then((info) => `the GPU device was lost (${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''})`)
    : new Promise(() => {});
  return {
    app,
    onGpu,
    label,
    failed: Promise.race([lost, crashed]),
    memory() {
      const stats = JSON.parse(app.memoryStats());
      return { wasmBytes: exports.memory.buffer.byteLength, gpuBytes: stats.in_use, gpuReserved: stats.reserved };
    },
    dispose() {
      crashListeners.delete(start);
    },
  };
}
