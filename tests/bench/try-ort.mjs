// Tries tests/bench/ort.html alone: a static server with /ort/ (onnxruntime-web's dist/),
// /bench/ (this folder) and /bench-data/ (the exported model), the browser tests' headless
// Chromium (WebGPU on SwiftShader); window.checkOrtPlacement in one page, then
// window.runOrtBench in a fresh one. Prints one JSON object on stdout ({ chromium, csp,
// placement, ...runOrtBench's result }) and the pages' console on stderr.
//
//   node tests/bench/try-ort.mjs [--data DIR] [--runs 3] [--warmup 1] [--dist ort.webgpu.min.mjs]
//                                [--csp] [--no-placement]
//
// DIR (default $GRADCAM_BENCH_DATA or /var/cache/gradcam-web/bench) holds resnet101.onnx, as
// written by tests/reference/bench_peer_pytorch.py --export-onnx. --csp also sends the app's
// headers (Trunk.toml's [serve.headers], the Content-Security-Policy among them), as
// tests/browser/harness.mjs's serveDist does; --no-placement skips the placement check.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SERVE_HEADERS, launchBrowser } from '../browser/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.GRADCAM_BENCH_DATA || '/var/cache/gradcam-web/bench' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    dist: { type: 'string', default: 'ort.webgpu.min.mjs' },
    csp: { type: 'boolean', default: false },
    'no-placement': { type: 'boolean', default: false },
  },
});

const MOUNTS = {
  '/ort/': join(ROOT, 'tests/browser/node_modules/onnxruntime-web/dist'),
  '/bench/': join(ROOT, 'tests/bench'),
  '/bench-data/': resolve(opts.data),
};
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.map': 'application/json',
};

/** The file a URL path names under one of MOUNTS, or null (outside them, or `..`). */
function fileFor(path) {
  for (const [prefix, root] of Object.entries(MOUNTS)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(root, path.slice(prefix.length)));
    return file.startsWith(root) ? file : null;
  }
  return null;
}

/** Serves MOUNTS on a free loopback port; resolves to { origin, close }. */
function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (opts.csp) for (const [key, value] of Object.entries(SERVE_HEADERS)) res.setHeader(key, value);
    const file = fileFor(path);
    let size;
    try {
      size = file && statSync(file).isFile() ? statSync(file).size : null;
    } catch {
      size = null;
    }
    if (size === null) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-length': size });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => { server.close(); server.closeAllConnections(); },
  })));
}

/** A fresh page of ort.html in its own context, its console forwarded to stderr. */
async function openOrtPage(browser, origin, label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => console.error(`[${label} ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[${label} pageerror] ${e.message}`));
  await page.goto(`${origin}/bench/ort.html`);
  await page.waitForFunction(() => typeof window.runOrtBench === 'function');
  return { page, context };
}

const model = '/bench-data/resnet101.onnx';
const server = await serve();
const browser = await launchBrowser();
try {
  let placement = null;
  if (!opts['no-placement']) {
    const { page, context } = await openOrtPage(browser, server.origin, 'placement');
    placement = await page.evaluate((o) => window.checkOrtPlacement(o), { model, dist: opts.dist });
    await context.close();
    console.error(`[try-ort] placement: ${JSON.stringify(placement)}`);
  }
  const { page, context } = await openOrtPage(browser, server.origin, 'bench');
  const started = Date.now();
  const result = await page.evaluate((o) => window.runOrtBench(o), {
    model, runs: Number(opts.runs), warmup: Number(opts.warmup), dist: opts.dist,
  });
  await context.close();
  console.error(`[try-ort] ${((Date.now() - started) / 1000).toFixed(1)} s for the benchmark, Chromium ${browser.version()}`);
  console.log(JSON.stringify({ chromium: browser.version(), csp: opts.csp, placement, ...result }));
} finally {
  await browser.close();
  server.close();
}
