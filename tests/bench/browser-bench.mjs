// Browser benchmarks, in one headless Chromium (WebGPU on whatever adapter it finds: here
// SwiftShader): our engine (burn on WebGPU, and burn's flex in wasm) against ONNX Runtime
// Web's WebGPU execution provider on the same ResNet-101 weights; the real page's cold start,
// first and warm heatmap and class switch; large photos on the CPU fallback (issue 18's
// item 6); the payload. Prints one JSON object.
//
//   node tests/bench/browser-bench.mjs DATA_DIR [--runs N] [--warmup N] [--gpu]
//
// `--gpu` (./dev bench --gpu, on a machine with a GPU and its Vulkan driver): Chromium is
// started on that GPU and the run stops at once when WebGPU offers only a software adapter,
// so its figures are a GPU's; our WebGPU row then never falls back to a software GPU.
//
// DATA_DIR holds resnet101.bpk + models.json (ours) and resnet101.onnx (ORT), made from the
// same .pth by ./dev bench. Timings include read-back of the result (logits or map).

import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import {
  DIST, FIXTURES, ROOT, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady,
} from '../browser/harness.mjs';
import { phoneJpeg, timeDrops, timeRedraws } from '../browser/large-photo-timing.mjs';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' }, gpu: { type: 'boolean', default: false },
  },
});
const DATA = positionals[0];
if (!DATA) throw new Error('usage: node tests/bench/browser-bench.mjs DATA_DIR [--runs N] [--warmup N] [--gpu]');
const ON_GPU = options.gpu;
// Chromium on the machine's GPU through Vulkan (headless Chromium otherwise renders and
// runs WebGPU on SwiftShader).
const GPU_ARGS = ['--enable-features=Vulkan', '--use-angle=vulkan', '--use-vulkan=native', '--ignore-gpu-blocklist', '--enable-gpu'];
const RUNS = Number(options.runs);
const WARMUP = Number(options.warmup);
const PHOTO = join(FIXTURES, 'chelsea.png');
const MODEL = 'resnet101';
const ORT_DIST = join(ROOT, 'tests/browser/node_modules/onnxruntime-web/dist');

const log = (...args) => console.error('[bench]', ...args);

/** Our engine alone, in an empty page: forward, Grad-CAM and stages via App.benchmark. */
async function ourEngine(browser, origin, allowGpu) {
  const { page, context } = await openPage(browser, origin, { query: 'bench/engine.html', withoutWebGpu: !allowGpu });
  try {
    return await page.evaluate(async ({ allowGpu, onGpu, photo, runs, warmup, model }) => {
      const { startEngine } = await import('/engine.js');
      // WebGPU even where it is only a software adapter (this row times the WebGPU path),
      // except with --gpu, whose figures must be a real GPU's.
      const engine = await startEngine({ allowGpu, allowSoftwareGpu: allowGpu && !onGpu });
      const weights = new Uint8Array(await (await fetch(`/weights/${model}.bpk`)).arrayBuffer());
      const loadStart = performance.now();
      await engine.call('loadWeights', [weights]);
      const loadMs = performance.now() - loadStart;
      await engine.call('setPhoto', [Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))]);
      const report = await engine.call('benchmark', [warmup, runs]);
      // GPU compute dispatches (what fusion cuts): one forward, then one Grad-CAM.
      const { dispatches: forwardDispatches } = await engine.call('forward');
      const before = engine.memory().dispatches;
      await engine.call('explain', [{ method: 'gradcam', layer: 'layer4' }]);
      const gradcamDispatches = engine.memory().dispatches - before;
      return {
        backend: engine.label, load_weights_ms: loadMs, dispatches_per_forward: forwardDispatches,
        dispatches_per_gradcam: gradcamDispatches, ...report,
      };
    }, { allowGpu, onGpu: ON_GPU, photo: readFileSync(PHOTO).toString('base64'), runs: RUNS, warmup: WARMUP, model: MODEL });
  } finally {
    await context.close();
  }
}

/** ONNX Runtime Web (WebGPU EP, no CPU fallback) on the ONNX export of the same weights. */
async function ortWeb(browser, origin) {
  const { page, context, logs } = await openPage(browser, origin, { query: 'bench/ort.html' });
  try {
    await page.waitForFunction(() => typeof window.runOrtBench === 'function');
    return await page.evaluate(({ runs, warmup }) => window.runOrtBench({ model: '/bench-data/resnet101.onnx', runs, warmup }),
      { runs: RUNS, warmup: WARMUP });
  } catch (e) {
    throw new Error(`ORT benchmark failed: ${e.message}\n${logs.slice(-10).join('\n')}`);
  } finally {
    await context.close();
  }
}

/** Where ORT put the nodes (verbose logging, in its own page: it slows runs down). */
async function ortPlacement(browser, origin) {
  const { page, context, logs } = await openPage(browser, origin, { query: 'bench/ort.html' });
  try {
    await page.waitForFunction(() => typeof window.checkOrtPlacement === 'function');
    return await page.evaluate(() => window.checkOrtPlacement({ model: '/bench-data/resnet101.onnx' }));
  } catch (e) {
    throw new Error(`ORT benchmark failed: ${e.message}\n${logs.slice(-10).join('\n')}`);
  } finally {
    await context.close();
  }
}

/** The real page: cold start with cached weights, first and warm drop, class switch. */
async function page(browser, origin) {
  const photo = readFileSync(PHOTO);
  const first = await openPage(browser, origin, { query: `?model=${MODEL}` });
  await waitReady(first.page); // downloads and caches the weights
  await first.page.close();
  const started = Date.now();
  const { page: p, context } = await openPage(browser, origin, { query: `?model=${MODEL}`, context: first.context });
  try {
    await waitReady(p);
    const readyMs = Date.now() - started;
    const drop = async () => {
      const t = Date.now();
      await dropFile(p, photo, 'chelsea.png', 'image/png');
      if (await waitForResult(p, 1_800_000) !== 'ready') throw new Error(await p.textContent('[data-testid=status]'));
      return Date.now() - t;
    };
    const firstMs = await drop();
    const coldMs = Date.now() - started;
    const warm = [];
    for (let i = 0; i < Math.max(1, Math.min(RUNS, 3)); i++) warm.push(await drop());
    // Each switch as the page measures it (the click event to the animation frame showing the
    // new map), and as seen from here (Playwright's click, with its actionability checks,
    // to the poll that sees the frame).
    const switches = [];
    const seen = [];
    for (const n of [2, 3, 4, 5, 1]) {
      const item = `[data-testid=top5] li:nth-child(${n})`;
      const cls = (await p.getAttribute(item, 'data-testid')).replace('class-', '');
      const t = Date.now();
      await p.click(`${item} button`);
      const frame = await p.waitForFunction((c) => {
        const canvas = document.querySelector('[data-testid=overlay]');
        const done = canvas.dataset.state === 'ready' && canvas.dataset.class === c && canvas.dataset.frameMs;
        return done ? Number(canvas.dataset.frameMs) : false;
      }, cls, { polling: 'raf' });
      seen.push(Date.now() - t);
      switches.push(await frame.jsonValue());
    }
    const backend = await p.textContent('[data-testid=backend]');
    return { backend, ready_ms: readyMs, first_heatmap_ms: firstMs, cold_start_to_heatmap_ms: coldMs, warm_heatmap_ms: warm, class_switch_ms: switches, class_switch_seen_ms: seen };
  } finally {
    await context.close();
  }
}

/** Item 6 of issue 18 on the real page, as large-photos.test.mjs measures it: the CPU
 * fallback with the page's own EfficientNet-Lite0, a 4032×3024 JPEG against a 640×480 one
 * (drops alternated), then class switches at layer4 and opacity changes on the large one. */
async function largePhotos(browser) {
  const own = await serveDist();
  const { page: p, context } = await openPage(browser, own.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  try {
    await waitReady(p);
    const dir = mkdtempSync(join(tmpdir(), 'gradcam-bench-'));
    const drops = await timeDrops(p, await phoneJpeg(p, 640, 480, dir), await phoneJpeg(p, 4032, 3024, dir));
    const { switches, changes } = await timeRedraws(p);
    const frames = (fs) => fs.map((f) => ({ click_to_frame_ms: f.ms, engine_ms: f.engineMs, picture_ms: f.renderMs }));
    const backend = (await p.textContent('[data-testid=backend]')).replace(/^Backend:\s*/, '');
    return { backend, drop_ms: drops, class_switch: frames(switches), display_change: frames(changes) };
  } finally {
    await context.close();
    own.close();
  }
}

function payload() {
  const sizes = (file) => {
    const bytes = readFileSync(join(DIST, file));
    return {
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
    };
  };
  /** Sizes of `files` (paths under dist/): { files: { path: sizes }, total: sizes }. */
  const measure = (files) => {
    const each = Object.fromEntries(files.map((f) => [f, sizes(f)]));
    const total = (key) => files.reduce((sum, f) => sum + each[f][key], 0);
    return { files: each, total: { raw: total('raw'), gzip: total('gzip'), brotli: total('brotli') } };
  };
  // Every file the page loads: the wasm, its glue, each script, the HTML and the CSS; and the
  // threaded build, loaded instead of the main build's wasm and glue on the CPU path.
  const page = measure(readdirSync(DIST).filter((f) => /\.(wasm|js|html|css)$/.test(f)).sort());
  const threads = measure(readdirSync(join(DIST, 'threads')).map((f) => `threads/${f}`).sort());
  const weights = JSON.parse(readFileSync(join(DIST, 'weights/models.json'), 'utf8')).models
    .map((m) => ({ name: m.name, bytes: m.bytes }));
  weights.push({ name: `${MODEL} (bench, f16)`, bytes: statSync(join(DATA, `${MODEL}.bpk`)).size });
  return { ...page, threads, weights };
}

/** The backend the page's engine starts on when it declines a software GPU (the worker's
 * own adapter check): { onGpu, label }. */
async function backendOf(browser, origin) {
  const { page, context } = await openPage(browser, origin, { query: 'bench/engine.html' });
  try {
    return await page.evaluate(async () => {
      const { startEngine } = await import('/engine.js');
      const engine = await startEngine({ allowGpu: true, allowSoftwareGpu: false });
      engine.dispose();
      return { onGpu: engine.onGpu, label: engine.label };
    });
  } finally {
    await context.close();
  }
}

const mounts = { ort: ORT_DIST, bench: join(ROOT, 'tests/bench'), 'bench-data': DATA };
const server = await serveDist({ weights: DATA, mounts });
// Without the isolation headers: the one-thread build, for the CPU row beside the threaded one.
const plain = await serveDist({ weights: DATA, mounts, isolated: false });
const browser = await launchBrowser(ON_GPU ? GPU_ARGS : []);
try {
  const result = { date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, chromium: browser.version(), gpu: ON_GPU };
  const backend = await backendOf(browser, server.origin);
  log(`the engine, declining a software GPU: ${backend.label}`);
  if (ON_GPU && !backend.onGpu) {
    throw new Error(`--gpu needs a hardware WebGPU adapter; the engine runs on ${backend.label}. A GPU with a Vulkan driver, and Chromium built with Vulkan, are needed.`);
  }
  result.backend = backend;
  log('payload'); result.payload = payload();
  log('ours, WebGPU'); result.ours_webgpu = await ourEngine(browser, server.origin, true);
  log('ours, CPU (flex in wasm, threads)'); result.ours_cpu = await ourEngine(browser, server.origin, false);
  log('ours, CPU (flex in wasm, 1 thread)'); result.ours_cpu_one_thread = await ourEngine(browser, plain.origin, false);
  log('ONNX Runtime Web, WebGPU'); result.ort_webgpu = await ortWeb(browser, server.origin);
  log('ONNX Runtime Web, node placement'); result.ort_placement = await ortPlacement(browser, server.origin);
  log('the page'); result.page = await page(browser, server.origin);
  log('the page, large photos'); result.large_photos = await largePhotos(browser);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
  plain.close();
}
