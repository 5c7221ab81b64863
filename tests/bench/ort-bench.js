// ONNX Runtime Web's WebGPU execution provider timed on a static-shape ONNX model, for
// tests/bench/ort.html (not shipped with the app). `window.runOrtBench(options)` resolves to
//   { ort, dist, ep, adapter, fetch_ms, session_ms, first_run_ms, warm_ms: { median, min, all },
//     top1, session_log }
// and `window.checkOrtPlacement(options)` lists where ORT placed the model's nodes.
// Every timed run is `session.run({ input })` plus reading the output's data back to the CPU.
// The session may not put any node on the CPU: `session.disable_cpu_ep_fallback` makes its
// creation fail instead (see `sessionOptions`).

/**
 * The ORT build the page loads from /ort/: `ort.webgpu.min.mjs` is the package's
 * `onnxruntime-web/webgpu` entry (ORT's C++ WebGPU EP, which loads
 * ort-wasm-simd-threaded.asyncify.mjs/.wasm); `ort.min.mjs` is the JSEP build (the older
 * JavaScript WebGPU kernels, ort-wasm-simd-threaded.jsep.mjs/.wasm), for comparison.
 */
export const DEFAULT_DIST = 'ort.webgpu.min.mjs';

/** ORT's own log lines (emscripten prints them through console.*), kept while `recording`. */
const ortLog = [];
let recording = false;
let loaded = null;

/**
 * Imports ORT once per page: wasm files from /ort/, one thread (the page is not
 * cross-origin isolated, so no SharedArrayBuffer). The console is wrapped first, because
 * emscripten binds console.log/error when its module starts.
 */
function loadOrt(dist) {
  if (loaded) {
    if (loaded.dist !== dist) throw new Error(`ORT ${loaded.dist} is already loaded in this page; reload it for ${dist}`);
    return loaded.promise;
  }
  for (const level of ['log', 'info', 'warn', 'error']) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      if (recording) ortLog.push(args.map(String).join(' '));
      original(...args);
    };
  }
  const promise = import(`/ort/${dist}`).then((ort) => {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'warning'; // the default logger: INFO would print a line per GPU program
    return ort;
  });
  loaded = { dist, promise };
  return promise;
}

/**
 * WebGPU only, every graph optimisation, and no CPU fallback: `extra` entries become session
 * config entries (`extra.session.x` -> "session.x", OrtAddSessionConfigEntry), and
 * "session.disable_cpu_ep_fallback" = "1" (kOrtSessionOptionsDisableCPUEPFallback) makes
 * ORT refuse to create a session that assigns any node to the CPU EP.
 */
function sessionOptions(logSeverityLevel) {
  return {
    executionProviders: ['webgpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel,
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  };
}

/** `length` deterministic pseudo-random floats in [-2, 2) (mulberry32 from `seed`). */
export function pseudoRandomInput(length, seed = 1) {
  const data = new Float32Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 4 - 2;
  }
  return data;
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], all: times };
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** What the browser says about its WebGPU adapter (SwiftShader in the headless tests). */
async function adapterInfo() {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  const { vendor, architecture, device, description } = adapter.info || {};
  return { vendor, architecture, device, description };
}

async function fetchModel(model) {
  const response = await fetch(model);
  if (!response.ok) throw new Error(`${model}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Times ORT on `model` (a URL): fetch, session creation, the first run (shader compilation),
 * `warmup` untimed runs, then `runs` timed ones. `input` (a Float32Array of the model's input
 * size) defaults to pseudoRandomInput. ORT logs at warning level: INFO and below print a line
 * per GPU program and would be timed too (see checkOrtPlacement for the placement log).
 */
export async function runOrtBench({
  model = '/bench-data/resnet101.onnx', runs = 10, warmup = 3, dist = DEFAULT_DIST, input, logSeverityLevel = 2,
} = {}) {
  const ort = await loadOrt(dist);

  const fetchStart = performance.now();
  const bytes = await fetchModel(model);
  const fetchMs = performance.now() - fetchStart;

  ortLog.length = 0;
  recording = true;
  let session;
  const sessionStart = performance.now();
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions(logSeverityLevel));
  } finally {
    recording = false;
  }
  const sessionMs = performance.now() - sessionStart;
  const warnings = ortLog.splice(0);

  try {
    const [inputName] = session.inputNames;
    const [outputName] = session.outputNames;
    const meta = session.inputMetadata?.[0];
    const dims = meta?.shape?.every((d) => typeof d === 'number') ? meta.shape : [1, 3, 224, 224];
    const size = dims.reduce((a, b) => a * b, 1);
    const data = input ? Float32Array.from(input) : pseudoRandomInput(size);
    if (data.length !== size) throw new Error(`input has ${data.length} values, the model wants ${dims.join('×')}`);
    const tensor = new ort.Tensor('float32', data, dims);

    let logits = null;
    const once = async () => {
      const start = performance.now();
      const outputs = await session.run({ [inputName]: tensor });
      logits = await outputs[outputName].getData();
      const ms = performance.now() - start;
      for (const value of Object.values(outputs)) value.dispose();
      return ms;
    };
    const firstRunMs = await once();
    for (let i = 0; i < warmup; i++) await once();
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await once());

    return {
      ort: ort.env.versions?.web ?? ort.env.versions?.common,
      dist,
      ep: 'webgpu',
      adapter: await adapterInfo(),
      runs,
      warmup,
      input: { name: inputName, dims },
      fetch_ms: fetchMs,
      session_ms: sessionMs,
      first_run_ms: firstRunMs,
      warm_ms: summary(times),
      top1: argmax(logits),
      session_log: warnings.slice(0, 40),
    };
  } finally {
    await session.release();
  }
}

/** Creates a session with `options`, recording ORT's log; { session, log } or { error, log }. */
async function createLogged(ort, bytes, options) {
  ortLog.length = 0;
  recording = true;
  try {
    return { session: await ort.InferenceSession.create(bytes, options), log: ortLog.splice(0) };
  } catch (e) {
    return { error: String(e?.message ?? e), log: ortLog.splice(0) };
  } finally {
    recording = false;
  }
}

/**
 * Where ORT puts the nodes of `model`: creates a session with runOrtBench's options at
 * VERBOSE session log level, runs nothing, and returns ORT's placement lines ("Node
 * placements", "All nodes placed on [WebGpuExecutionProvider]", CPU fallback warnings).
 * Then, as a check that the no-fallback option is honoured, the same session with node
 * `forceCpuNode` forced onto the CPU (WebGPU EP option forceCpuNodeNames): its creation
 * must fail (`forced_cpu.refused`); only the default dist has that option (the JSEP build
 * ignores it, so there the forced session is created). Kept apart from runOrtBench: the
 * verbose log makes session creation slower.
 */
export async function checkOrtPlacement({
  model = '/bench-data/resnet101.onnx', dist = DEFAULT_DIST, forceCpuNode = '/fc/Gemm',
} = {}) {
  const ort = await loadOrt(dist);
  const bytes = await fetchModel(model);
  const pick = (log) => log.filter((line) => /placement|placed on|assigned to|fallback/i.test(line)).slice(0, 60);

  const normal = await createLogged(ort, bytes, sessionOptions(0));
  if (normal.error) throw new Error(`session creation failed: ${normal.error}\n${pick(normal.log).join('\n')}`);
  await normal.session.release();

  const forced = await createLogged(ort, bytes, {
    ...sessionOptions(2),
    executionProviders: [{ name: 'webgpu', forceCpuNodeNames: [forceCpuNode] }],
  });
  if (forced.session) await forced.session.release();
  return {
    log_lines: normal.log.length,
    placement: pick(normal.log),
    forced_cpu: { node: forceCpuNode, refused: !!forced.error, error: forced.error ?? null, log: pick(forced.log) },
  };
}

window.runOrtBench = runOrtBench;
window.checkOrtPlacement = checkOrtPlacement;
document.getElementById('status')?.setAttribute('data-ready', 'true');
