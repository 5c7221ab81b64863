// Starting the engine in its Web Worker (worker.js), talking to it, and noticing when it can
// no longer be trusted: its GPU device was lost, or the wasm trapped. Each start is a fresh
// worker, so a restart never inherits the state of an engine that failed half-way.

const WORKER = new URL('./worker.js', import.meta.url);

/** A request the worker dropped because a newer one with the same key replaced it. */
export class Superseded extends Error {}

/**
 * Starts a fresh engine. `allowGpu: false` goes straight to the CPU (flex) backend; a
 * software GPU (SwiftShader, llvmpipe) is used only with `allowSoftwareGpu`.
 * Resolves to { onGpu, label, softwareGpu, catalogue, failed, call, memory, dispose }
 * (`softwareGpu`: the adapter's name when WebGPU offers only a software one, else null):
 * - `call(op, args, { transfer, onProgress, supersede })` runs one request in the worker
 *   (see worker.js) and resolves to its result; `onProgress(phase)` hears each phase.
 * - `failed` resolves with a sentence once the engine must not be used any more.
 * - `memory()` is the latest { wasmBytes, gpuBytes, gpuReserved } (GPU figures null on CPU).
 */
export async function startEngine({ allowGpu = true, allowSoftwareGpu = false } = {}) {
  const worker = new Worker(WORKER, { type: 'module', name: 'gradcam-engine' });
  const pending = new Map();
  let nextId = 1;
  let lastMemory = null;
  let reportFailure;
  const failed = new Promise((resolve) => { reportFailure = resolve; });
  let dead = false;

  function fail(why) {
    if (dead) return;
    dead = true;
    reportFailure(why);
    for (const { reject } of pending.values()) reject(new Error(why));
    pending.clear();
  }

  worker.addEventListener('message', ({ data }) => {
    if (data.type === 'failed') { fail(data.why); return; }
    const request = pending.get(data.id);
    if (!request) return;
    if (data.type === 'progress') { request.onProgress?.(data.phase); return; }
    pending.delete(data.id);
    if (data.memory) lastMemory = data.memory;
    if (data.ok) request.resolve(data.result);
    else request.reject(data.superseded ? new Superseded(data.error) : new Error(data.error));
  });
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    fail(`the engine stopped with an internal error (${e.message || 'the worker failed'})`);
  });

  function call(op, args = [], { transfer = [], onProgress, supersede } = {}) {
    if (dead) return Promise.reject(new Error('the engine has stopped'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, onProgress });
      worker.postMessage({ id, op, args, supersede }, transfer);
    });
  }

  const hasWebGpu = 'gpu' in navigator && Boolean(navigator.gpu);
  const whyNot = hasWebGpu ? 'the GPU failed earlier in this session' : 'this browser has no WebGPU';
  let started;
  try {
    started = await Promise.race([
      call('start', [allowGpu && hasWebGpu, whyNot, allowSoftwareGpu]),
      failed.then((why) => { throw new Error(why); }),
    ]);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return {
    ...started,
    failed,
    call,
    memory: () => lastMemory,
    dispose() {
      dead = true;
      worker.terminate();
      for (const { reject } of pending.values()) reject(new Error('the engine was replaced'));
      pending.clear();
    },
  };
}
