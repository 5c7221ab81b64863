// The engine's home: a module Web Worker that owns the wasm instance (src/web), so that
// decoding, the network and the overlay never block the page. Messages in:
// { id, op, args, supersede? }; out: { type: 'reply', id, ok, result | error, memory },
// { type: 'progress', id, phase } and { type: 'failed', why } once the engine must not be
// used any more (GPU device lost, wasm trap). Requests run one at a time, in order; a queued
// request carrying a `supersede` key is dropped when a newer one with the same key arrives.

// Two builds of the engine: ./gradcam-web.js (WebGPU and a one-thread CPU backend) and
// ./threads/gradcam-web.js (the CPU backend only, on a pool of threads that share its memory,
// see cpu-thread.js), which needs a cross-origin isolated page. `start` picks one: the main
// build where WebGPU is used, the threaded one on the CPU wherever it can run.
const BUILDS = { main: './gradcam-web.js', threads: './threads/gradcam-web.js' };
const THREAD = new URL('./cpu-thread.js', import.meta.url);

let engine = null; // the build's module: its exports (App, catalogue, …) and its wasm
let app = null;
let exporting = null; // the audit export being written (audit::ZipWriter)

/** The export being written (exportStart begins one). */
function writer() {
  if (!exporting) throw new Error('no export is being written');
  return exporting;
}

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

// Compute dispatches the engine has sent to the GPU (what fusion reduces), counted for the
// benchmark's figures: each reply carries the running total.
let dispatches = 0;
if (globalThis.GPUComputePassEncoder) {
  for (const name of ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect']) {
    const original = GPUComputePassEncoder.prototype[name];
    if (!original) continue;
    GPUComputePassEncoder.prototype[name] = function countedDispatch(...args) {
      dispatches += 1;
      return original.apply(this, args);
    };
  }
}

/**
 * Whether `error` is a wasm trap: a Rust panic or abort (out of memory included) is a
 * WebAssembly.RuntimeError, and the wasm call stack overflowing is a RangeError. A trap stops
 * Rust half-way (a RefCell borrow is never released, a structure is left half-updated), so
 * the instance must not run anything any more, whether the trap came from a synchronous
 * call or from a future polled later.
 */
function isTrap(error) {
  return error instanceof WebAssembly.RuntimeError
    || (error instanceof RangeError && /call stack/i.test(error.message));
}

let crashed = null; // why this engine stopped, once a trap was seen

/** Reports a trap, once: the page then replaces this worker, as after a lost GPU device. */
function crash(error) {
  if (crashed) return;
  crashed = `the engine stopped with an internal error (${error.message})`;
  post({ type: 'failed', why: crashed });
}

// A trap in a future (an async call) surfaces as an uncaught error of the microtask polling it.
addEventListener('error', (e) => { if (isTrap(e.error)) crash(e.error); });
addEventListener('unhandledrejection', (e) => { if (isTrap(e.reason)) crash(e.reason); });

/** Loads and instantiates one of BUILDS: its module's exports, with `build` and `memory`. */
async function load(build) {
  const module = await import(build);
  const exports = await module.default({ module_or_path: new URL(build.replace(/\.js$/, '_bg.wasm'), import.meta.url) });
  return { ...module, build, memory: exports.memory };
}

/**
 * Starts the threaded build's pool of `n` threads, each in a worker (cpu-thread.js) on this
 * instance's module and memory; resolves to the pool's size. While the pool computes, this
 * worker waits inside the wasm and cannot hear its threads, so a thread that traps tells the
 * page itself, on the BroadcastChannel named `faults` (engine.js listens).
 */
async function startThreads(n, faults) {
  const [module, memory] = engine.threadShare();
  const workers = Array.from({ length: n }, () => new Worker(THREAD, { type: 'module', name: 'gradcam-cpu-thread' }));
  try {
    await Promise.all(workers.map((thread) => new Promise((ready, fail) => {
      const failed = (why) => fail(new Error(`the CPU threads did not start (${why})`));
      thread.addEventListener('message', ({ data }) => (data.ready ? ready() : failed(data.error)), { once: true });
      thread.addEventListener('error', (e) => failed(e.message || 'the worker failed'), { once: true });
      thread.postMessage({ module, memory, faults });
    })));
  } catch (e) {
    for (const thread of workers) thread.terminate();
    throw e;
  }
  engine.startThreadPool(n);
  return engine.threadCount();
}

/** The WebGPU adapter's info ({ info }), or why there is none ({ reason }): JS alone, so that
 * a machine without a GPU never downloads the main build. */
async function findAdapter() {
  if (!('gpu' in navigator) || !navigator.gpu) return { reason: 'this browser has no WebGPU' };
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { reason: 'no WebGPU adapter is available' };
    const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info || {};
    return { info: { vendor, architecture, device, description, isFallbackAdapter } };
  } catch (e) {
    return { reason: `the WebGPU adapter request failed (${e.message || e})` };
  }
}

/**
 * Whether to use the adapter `info` (the engine's rule, adapter.rs): { name, softwareGpu } or
 * { reason, softwareGpu }. A software rasteriser posing as a GPU (SwiftShader, llvmpipe) is
 * far slower than the CPU backend, so it is used only when `allowSoftware` is set;
 * `softwareGpu` names it whenever the adapter is one (the page offers to use it anyway).
 */
function judgeAdapter(info, allowSoftware) {
  const { name, software } = JSON.parse(engine.describeAdapter(JSON.stringify(info)));
  const softwareGpu = software ? name : null;
  if (software && !allowSoftware) {
    return { reason: `only a software GPU is available (${name}), slower than the CPU`, softwareGpu };
  }
  return { name, softwareGpu };
}

function memory() {
  if (!app) return null;
  const stats = JSON.parse(app.memoryStats());
  return {
    wasmBytes: engine.memory.buffer.byteLength, gpuBytes: stats.in_use, gpuReserved: stats.reserved, dispatches,
  };
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

/** `start`'s reply: the backend's label, its thread count on the CPU (null on WebGPU), the
 * software GPU declined or chosen, and the catalogue. */
function started(label, threads, gpu) {
  return {
    result: { onGpu: threads === null, label, threads, softwareGpu: gpu.softwareGpu ?? null, catalogue: JSON.parse(engine.catalogue()) },
  };
}

const ops = {
  /** `faults`: the BroadcastChannel the threads report a trap on; `noThreads`: why the
   * threaded build must not be used (null: use it where it can work). */
  async start(allowGpu, whyNot, allowSoftwareGpu, faults, noThreads) {
    // Threads need a cross-origin isolated page and more than one core.
    const cores = navigator.hardwareConcurrency || 1;
    let single = noThreads || (!self.crossOriginIsolated ? 'threads need a cross-origin isolated page'
      : cores < 2 ? 'this machine has one core' : null);
    // With an adapter, the main build (it judges the adapter, and runs WebGPU); without one,
    // only the CPU build is downloaded.
    const adapter = allowGpu ? await findAdapter() : { reason: whyNot };
    if (adapter.info) engine = await load(BUILDS.main);
    const gpu = adapter.info ? judgeAdapter(adapter.info, allowSoftwareGpu) : adapter;
    let reason = gpu.reason;
    if (gpu.name) {
      newDevices = [];
      app = await engine.App.create(true);
      const device = newDevices.at(-1);
      newDevices = [];
      if (app.backend.startsWith('webgpu')) {
        device?.lost.then((info) => post({
          type: 'failed',
          why: `the GPU device was lost (${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''})`,
        }));
        return started(`WebGPU (${gpu.name})`, null, gpu);
      }
      // WebGPU failed after all: the CPU, on threads where they can run.
      // wgpu's errors carry the JS error's stack (`undefined` here) on a second line.
      reason = app.backend.replace(/^cpu \((.*)\)$/s, '$1').replace(/\n(undefined)?/g, ' ').trim();
      app.free();
      app = null;
    }
    let threads = 1;
    if (!single) {
      engine = await load(BUILDS.threads).catch((e) => {
        single = `the threaded build did not load (${e.message || e})`;
        return null;
      });
      if (engine) {
        threads = await startThreads(cores, faults).catch((e) => {
          single = e.message;
          return 1;
        });
      }
    }
    if (single) engine = await load(BUILDS.main);
    app = await engine.App.create(false);
    const cpu = threads > 1 ? `CPU, ${threads} threads` : 'CPU, 1 thread';
    return started(`${cpu} (${[reason, single].filter(Boolean).join('; ')})`, threads, gpu);
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
  /** The map under pixel (x, y) of a width × height picture: { x, y, value, share } in photo
   * pixels, `share` on the colour scale of `view`. */
  localise: (box, width, height) => ({ result: JSON.parse(app.localise(Uint32Array.from(box), width, height)) }),
  valueAt: (x, y, width, height, view) => ({ result: JSON.parse(app.valueAt(x, y, width, height, JSON.stringify(view)) ?? 'null') }),
  /** The overlay at the photo's resolution: { blob, info: { width, height, hot_box, save_ms } }. */
  overlayPng: (view) => ({ result: pngOut((onChunk) => app.overlayPng(JSON.stringify(view), onChunk)) }),
  mapPng16: () => ({ result: pngOut((onChunk) => app.mapPng16(onChunk)).blob }),
  mapNpy: () => bytesOut(app.mapNpy()),
  /** The Trust panel's numbers for the map on screen (see session::TrustSummary), each
   * picture of its sanity-check strip with its `bitmap`. */
  async trust(settings, id) {
    const onPhase = (map, metric) => post({ type: 'progress', id, phase: `${map}: ${metric}` });
    const [json, ...bitmaps] = await app.trust(JSON.stringify(settings), onPhase);
    const summary = JSON.parse(json);
    summary.sanity.forEach((picture, i) => { picture.bitmap = bitmaps[i]; });
    return { result: summary, transfer: bitmaps };
  },
  /** What a PyTorch state dict holds (session::CheckpointReport), nothing converted. */
  inspectCheckpoint: (bytes, name) => ({ result: JSON.parse(engine.inspectCheckpoint(bytes, name)) }),
  /** The state dict converted (session::OwnModelSettings): { weights (burnpack bytes), report }. */
  convertCheckpoint(bytes, name, settings) {
    const [weights, json] = engine.convertCheckpoint(bytes, name, JSON.stringify(settings));
    return { result: { weights, report: JSON.parse(json) }, transfer: [weights.buffer] };
  },
  /** The photos among a folder's file paths: audit::FolderPlan. */
  auditPlan: (paths) => ({ result: JSON.parse(engine.auditPlan(JSON.stringify(paths))) }),
  /** One photo of an audit (its map scored with the trust `scoring`, if any): { row, map
   * (Float32Array), shape: [h, w], bitmap (or null) }. */
  async auditPhoto(bytes, file, settings, view, scoring) {
    const [json, map, h, w, bitmap] = await app.auditPhoto(
      bytes, file, JSON.stringify(settings), JSON.stringify(view), scoring ? JSON.stringify(scoring) : undefined,
    );
    return { result: { row: JSON.parse(json), map, shape: [h, w], bitmap }, transfer: [map.buffer, ...(bitmap ? [bitmap] : [])] };
  },
  auditSummary: (rows, total, elapsedMs) => ({ result: JSON.parse(engine.auditSummary(JSON.stringify(rows), total, elapsedMs)) }),
  auditSelect: (rows, query) => ({ result: Array.from(engine.auditSelect(JSON.stringify(rows), JSON.stringify(query))) }),
  auditCsv: (rows) => ({ result: engine.auditCsv(JSON.stringify(rows)) }),
  /** The audit's ZIP, entry by entry: each call returns the bytes to append. */
  exportStart() {
    exporting?.free();
    exporting = new engine.AuditExport();
    return { result: null };
  },
  exportOverlay: (name, bytes, map, h, w, view) => bytesOut(writer().overlay(name, bytes, map, h, w, JSON.stringify(view))),
  exportFile: (name, bytes) => bytesOut(writer().file(name, bytes)),
  exportFinish() {
    const done = writer();
    exporting = null;
    return bytesOut(done.finish());
  },
  /** One forward pass of the photo: { ms, dispatches } (GPU compute dispatches it sent). */
  async forward() {
    const before = dispatches;
    const ms = await app.forward();
    return { result: { ms, dispatches: dispatches - before } };
  },
  async benchmark(warmup, runs) {
    return { result: JSON.parse(await app.benchmark(warmup, runs)) };
  },
  memory: () => ({ result: memory() }),
};

const queue = [];
let busy = false;

/** Runs one request and replies; a trap during it (a synchronous call into the wasm throws
 * it here) fails the whole engine instead: engine.js then rejects every pending call. */
async function run({ id, op, args = [] }) {
  try {
    if (crashed) throw new Error(crashed);
    if (!ops[op]) throw new Error(`unknown request ${op}`);
    if (op !== 'start' && !app) throw new Error('the engine has not started');
    const { result, transfer = [] } = await ops[op](...args, id);
    post({ type: 'reply', id, ok: true, result, memory: memory() }, transfer);
  } catch (e) {
    if (isTrap(e)) crash(e);
    else post({ type: 'reply', id, ok: false, error: e && e.message ? e.message : String(e) });
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
