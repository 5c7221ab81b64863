// The engine's home: a module Web Worker that owns the wasm instance (src/web), so that
// decoding, the network and the overlay never block the page. Messages in:
// { id, op, args, supersede? }; out: { type: 'reply', id, ok, result | error, memory },
// { type: 'progress', id, phase } and { type: 'failed', why } once the engine must not be
// used any more (GPU device lost, wasm trap). Requests run one at a time, in order; a queued
// request carrying a `supersede` key is dropped when a newer one with the same key arrives.

import init, { App, catalogue } from './gradcam-web.js';

const WASM = new URL('./gradcam-web_bg.wasm', import.meta.url);

let app = null;
let wasm = null;

const post = (message, transfer = []) => postMessage(message, transfer);

// GPUDevices the engine creates: the wasm asks for its device through WebGPU's JS API, and
// this is the one place where we can watch that device's `lost`.
let newDevices = [];
if (globalThis.GPUAdapter && GPUAdapter.prototype.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function watchedRequestDevice(...args) {
    const device = await requestDevice.apply(this, args);
    newDevices.push(device);
    return device;
  };
}

// A wasm trap (a Rust panic) surfaces as an uncaught WebAssembly.RuntimeError.
function reportCrash(error) {
  if (error instanceof WebAssembly.RuntimeError) {
    post({ type: 'failed', why: `the engine stopped with an internal error (${error.message})` });
  }
}
addEventListener('error', (e) => reportCrash(e.error));
addEventListener('unhandledrejection', (e) => reportCrash(e.reason));

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

function memory() {
  if (!app) return null;
  const stats = JSON.parse(app.memoryStats());
  return { wasmBytes: wasm.memory.buffer.byteLength, gpuBytes: stats.in_use, gpuReserved: stats.reserved };
}

/** A bitmap and its JSON description, from the wasm's `[ImageBitmap, json]`. */
function picture([bitmap, json]) {
  return { result: { bitmap, info: JSON.parse(json) }, transfer: [bitmap] };
}

const bytesOut = (bytes) => ({ result: bytes, transfer: [bytes.buffer] });

/** A PNG the engine streams in chunks (`write(onChunk)`), as a Blob: { blob, info }. */
function pngOut(write) {
  const chunks = [];
  const info = write((chunk) => { chunks.push(chunk); });
  return { blob: new Blob(chunks, { type: 'image/png' }), info: info ? JSON.parse(info) : null };
}

const ops = {
  async start(allowGpu, whyNot) {
    wasm = await init({ module_or_path: WASM });
    const gpu = allowGpu ? await probeGpu() : { reason: whyNot };
    newDevices = [];
    app = await App.create(Boolean(gpu.name));
    const onGpu = app.backend.startsWith('webgpu');
    const device = onGpu ? newDevices.at(-1) : null;
    newDevices = [];
    if (device) {
      device.lost.then((info) => post({
        type: 'failed',
        why: `the GPU device was lost (${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''})`,
      }));
    }
    // wgpu's errors carry the JS error's stack (`undefined` here) on a second line.
    const reason = gpu.reason || app.backend.replace(/^cpu \((.*)\)$/s, '$1').replace(/\n(undefined)?/g, ' ').trim();
    const label = onGpu ? `WebGPU (${gpu.name})` : `CPU (${reason})`;
    return { result: { onGpu, label, catalogue: JSON.parse(catalogue()) } };
  },
  loadWeights: (bytes) => ({ result: JSON.parse(app.loadWeights(bytes)) }),
  unloadWeights: () => ({ result: app.unloadWeights() }),
  setPhoto: (bytes) => ({ result: JSON.parse(app.setPhoto(bytes)) }),
  async explain(settings, id) {
    const onPhase = (phase) => post({ type: 'progress', id, phase });
    return { result: JSON.parse(await app.explain(JSON.stringify(settings), onPhase)) };
  },
  /** `explain`, then `render` for each of `views`: { report, pictures: [{ bitmap, info }] }. */
  async explainAndRender(settings, views, id) {
    const started = performance.now();
    const { result: report } = await ops.explain(settings, id);
    post({ type: 'progress', id, phase: 'draw' });
    const pictures = views.map((view) => picture(app.render(JSON.stringify(view))).result);
    const engineMs = performance.now() - started;
    return { result: { report, pictures, engineMs }, transfer: pictures.map((p) => p.bitmap) };
  },
  async explainCell(settings, view) {
    const [bitmap, json] = await app.explainCell(JSON.stringify(settings), JSON.stringify(view));
    const [report, drawn] = JSON.parse(json);
    return { result: { bitmap, report, info: drawn }, transfer: [bitmap] };
  },
  render(view) {
    const started = performance.now();
    const drawn = picture(app.render(JSON.stringify(view)));
    drawn.result.info.engine_ms = performance.now() - started;
    return drawn;
  },
  /** The map under pixel (x, y) of a width × height picture: { x, y, value } in photo pixels. */
  valueAt: (x, y, width, height) => ({ result: JSON.parse(app.valueAt(x, y, width, height) ?? 'null') }),
  /** The overlay at the photo's resolution: { blob, info: { width, height, hot_box, save_ms } }. */
  overlayPng: (view) => ({ result: pngOut((onChunk) => app.overlayPng(JSON.stringify(view), onChunk)) }),
  mapPng16: () => ({ result: pngOut((onChunk) => app.mapPng16(onChunk)).blob }),
  mapNpy: () => bytesOut(app.mapNpy()),
  async benchmark(warmup, runs) {
    return { result: JSON.parse(await app.benchmark(warmup, runs)) };
  },
  memory: () => ({ result: memory() }),
};

const queue = [];
let busy = false;

async function run({ id, op, args = [] }) {
  try {
    if (!ops[op]) throw new Error(`unknown request ${op}`);
    if (op !== 'start' && !app) throw new Error('the engine has not started');
    const { result, transfer = [] } = await ops[op](...args, id);
    post({ type: 'reply', id, ok: true, result, memory: memory() }, transfer);
  } catch (e) {
    post({ type: 'reply', id, ok: false, error: e && e.message ? e.message : String(e) });
  }
}

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length) await run(queue.shift());
  busy = false;
}

addEventListener('message', ({ data }) => {
  if (data.supersede) {
    for (let i = queue.length - 1; i >= 0; i--) {
      if (queue[i].supersede === data.supersede) {
        post({ type: 'reply', id: queue[i].id, ok: false, superseded: true, error: 'superseded by a newer request' });
        queue.splice(i, 1);
      }
    }
  }
  queue.push(data);
  pump();
});
