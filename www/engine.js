// Starting the engine in its Web Worker (worker.js), talking to it, and noticing when it can
// no longer be trusted: its GPU device was lost, or the wasm trapped. Each start is a fresh
// worker, so a restart never inherits the state of an engine that failed half-way.

const WORKER = new URL('./worker.js', import.meta.url);

/** A request the worker dropped because a newer one with the same key replaced it. */
export class Superseded extends Error {}

/**
 * Starts a fresh engine. `allowGpu: false` goes straight to the CPU (flex) backend; a
 * software GPU (SwiftShader, llvmpipe) is used only with `allowSoftwareGpu`.
 * Resolves to { onGpu, label, threads, softwareGpu, catalogue, failed, call, memory, dispose }
 * (`threads`: the CPU backend's thread count, null on WebGPU; `softwareGpu`: the adapter's
 * name when WebGPU offers only a software one, else null):
 * - `call(op, args, { transfer, onProgress, supersede })` runs one request in the worker
 *   (see worker.js) and resolves to its result; `onProgress(phase)` hears each phase.
 * - `failed` resolves with a sentence once the engine must not be used any more.
 * - `memory()` is the latest { wasmBytes, gpuBytes, gpuReserved } (GPU figures null on CPU).
 * Where the threaded CPU build fails while it starts (a thread trapped), the engine starts
 * again on the one-thread build and its label says why.
 */
export async function startEngine({ allowGpu = true, allowSoftwareGpu = false } = {}) {
  try {
    return await launch(allowGpu, allowSoftwareGpu, null);
  } catch (e) {
    if (!e.threadFault) throw e;
    return launch(allowGpu, allowSoftwareGpu, `the CPU threads failed (${e.threadFault})`);
  }
}

/** One engine in a fresh worker; `noThreads`: why the threaded build must not be used. */
async function launch(allowGpu, allowSoftwareGpu, noThreads) {
  const worker = new Worker(WORKER, { type: 'module', name: 'gradcam-engine' });
  // The threaded build's CPU threads report a trap here (see worker.js's startThreads).
  const faults = new BroadcastChannel(`gradcam-engine-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const pending = new Map();
  let nextId = 1;
  let lastMemory = null;
  let reportFailure;
  const failed = new Promise((resolve) => { reportFailure = resolve; });
  let dead = false;
  let threadFault = null;

  function fail(why) {
    if (dead) return;
    dead = true;
    faults.close();
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
  faults.addEventListener('message', ({ data }) => {
    threadFault = data;
    fail(`the engine stopped with an internal error (${data})`);
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
      call('start', [allowGpu && hasWebGpu, whyNot, allowSoftwareGpu, faults.name, noThreads]),
      failed.then((why) => { throw new Error(why); }),
    ]);
  } catch (e) {
    worker.terminate();
    faults.close();
    throw Object.assign(e, { threadFault });
  }
  return {
    ...started,
    failed,
    call,
    memory: () => lastMemory,
    dispose() {
      dead = true;
      worker.terminate();
      faults.close();
      for (const { reject } of pending.values()) reject(new Error('the engine was replaced'));
      pending.clear();
    },
  };
}
