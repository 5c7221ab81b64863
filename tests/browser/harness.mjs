// Shared pieces of the browser tests: a static server for dist/, headless Chromium with
// WebGPU on SwiftShader, a real drop of a file, canvas read-back and the native reference.

import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync, statSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = join(ROOT, 'dist');
export const FIXTURES = join(ROOT, 'tests/fixtures');

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.bpk': 'application/octet-stream', '.png': 'image/png',
  '.mjs': 'text/javascript', '.onnx': 'application/octet-stream',
};

/**
 * The headers `trunk serve` sends (Trunk.toml's [serve.headers], the Content-Security-Policy
 * among them): the test server sends them too, so the page is tested under that policy.
 */
export const SERVE_HEADERS = (() => {
  const toml = readFileSync(join(ROOT, 'Trunk.toml'), 'utf8');
  const section = toml.split(/^\[serve\.headers\]\s*$/m)[1]?.split(/^\[/m)[0] || '';
  const headers = {};
  for (const [, key, value] of section.matchAll(/^([A-Za-z-]+)\s*=\s*"(.*)"\s*$/gm)) headers[key] = value;
  return headers;
})();

/** Where the test server's /weights/ comes from: $GRADCAM_TEST_WEIGHTS, else dist/weights. */
export const WEIGHTS_DIR = process.env.GRADCAM_TEST_WEIGHTS || join(DIST, 'weights');

function send(res, bytes, type = 'application/octet-stream') {
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length }).end(bytes);
}

// Maps a URL path to a file: /weights/* under `weights`, `/<prefix>/*` under `mounts[prefix]`,
// everything else under dist/.
function fileFor(path, weights, mounts) {
  const all = { weights, ...mounts };
  const prefix = Object.keys(all).find((p) => path.startsWith(`/${p}/`));
  const [root, rest] = prefix ? [all[prefix], path.slice(prefix.length + 1)] : [DIST, path];
  const file = normalize(join(root, rest));
  return file.startsWith(root) ? file : null;
}

/**
 * Serves dist/ on a free loopback port, with /weights/* from `weights` (default WEIGHTS_DIR)
 * and `/<prefix>/*` from `mounts[prefix]` (the benchmarks' extra folders).
 * Resolves to { origin, close, hits, override, restore }: `hits` maps each URL path to its
 * number of requests; `override(path, handler)` answers that path with
 * `handler(req, res, file)` (see `faults`) until `restore(path)`.
 */
export function serveDist({ weights = WEIGHTS_DIR, mounts = {} } = {}) {
  const hits = new Map();
  const overrides = new Map();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    hits.set(path, (hits.get(path) || 0) + 1);
    for (const [key, value] of Object.entries(SERVE_HEADERS)) res.setHeader(key, value);
    let file = fileFor(path, weights, mounts);
    if (!file) { res.writeHead(403).end(); return; }
    if (overrides.has(path)) { overrides.get(path)(req, res, file); return; }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-length': size });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    ok({
      origin: `http://127.0.0.1:${server.address().port}`,
      close: () => { server.close(); server.closeAllConnections(); },
      hits,
      override: (path, handler) => overrides.set(path, handler),
      /** Runs `scripts` (functions) in the engine's worker before its own code (as page init
       * scripts do for the page), until `restore('/worker.js')`. */
      workerScripts: (scripts) => overrides.set('/worker.js', (req, res, file) => {
        const prelude = scripts.map((f) => `(${f})();\n`).join('');
        send(res, Buffer.from(prelude + readFileSync(file, 'utf8')), 'text/javascript');
      }),
      restore: (path) => overrides.delete(path),
    });
  }));
}

/** Answers for `server.override`: what a broken server or network really sends. */
export const faults = {
  notFound: () => (req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'),
  /** The file at its full length, with `count` bytes inverted from `at` (default: the middle). */
  flipped: (at, count = 64) => (req, res, file) => {
    const bytes = readFileSync(file);
    const from = at ?? bytes.length >> 1;
    for (let i = from; i < from + count; i++) bytes[i] ^= 0xff;
    send(res, bytes);
  },
  /** Only the first `n` bytes, announced as the whole file (a short file on the server). */
  truncated: (n) => (req, res, file) => send(res, readFileSync(file).subarray(0, n)),
  /** Announces the whole file, sends `n` bytes, then drops the connection. */
  dropped: (n) => (req, res, file) => {
    const bytes = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.write(bytes.subarray(0, n), () => setTimeout(() => res.socket.destroy(), 100));
  },
  /** Announces the whole file, sends `n` bytes, then nothing: a download that hangs. */
  stalled: (n) => (req, res, file) => {
    const bytes = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.write(bytes.subarray(0, n));
  },
  /** Fixed bytes instead of the file. */
  bytes: (bytes, type) => (req, res) => send(res, bytes, type),
};

const CHROMIUM_ARGS = [
  '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

/** Headless Chromium; `extraArgs` adds command-line switches (e.g. `--js-flags=--expose-gc`). */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * Opens the page; `withoutWebGpu` removes navigator.gpu before any script runs, as in a
 * browser without WebGPU; `softwareGpu: 'allow'` (the default here, so that the tests cover
 * the WebGPU path on SwiftShader) stores the user's choice to use a software GPU anyway, and
 * `softwareGpu: null` leaves the page's own choice (the CPU); `initScripts` (functions) also
 * run before the page's scripts.
 * Every request is recorded in `requests`, alert/confirm dialogs in `dialogs` (and
 * dismissed), Content-Security-Policy violations in the page's `window.__cspViolations`.
 * Pass `context` to open another page in the same browser context (same Cache API storage,
 * as on a second visit), or `contextOptions` for a new one (permissions, downloads).
 */
export async function openPage(browser, origin, {
  query = '', withoutWebGpu = false, softwareGpu = 'allow', initScripts = [], context: shared,
  contextOptions = {},
} = {}) {
  const context = shared || await browser.newContext(contextOptions);
  if (!shared) {
    await context.addInitScript(() => {
      window.__cspViolations = [];
      addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
    });
    if (softwareGpu) {
      await context.addInitScript((choice) => {
        if (localStorage.getItem('gradcam-web.softwareGpu') === null) localStorage.setItem('gradcam-web.softwareGpu', choice);
      }, softwareGpu);
    }
    if (withoutWebGpu) {
      await context.addInitScript(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      });
    }
    for (const script of initScripts) await context.addInitScript(script);
  }
  const page = await context.newPage();
  const requests = [];
  const logs = [];
  const dialogs = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(`${origin}/${query}`);
  return { page, context, requests, logs, dialogs };
}

/** The Content-Security-Policy violations the page has seen so far. */
export function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations || ['(no recorder)']);
}

/** Requests that left the page's own origin (data: and blob: URLs stay on the machine). */
export function foreignRequests(requests, origin) {
  return requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
}

/** Waits until the weights are loaded (or the page reports an error). */
export async function waitReady(page, timeout = 300_000) {
  await page.waitForFunction(
    () => document.body.dataset.ready === 'true' || document.getElementById('status').dataset.kind === 'error',
    null, { timeout, polling: 250 });
  const kind = await page.getAttribute('[data-testid=status]', 'data-kind');
  if (kind === 'error') throw new Error(`page error: ${await page.textContent('[data-testid=status]')}`);
}

/** Drops a file on the page with a real DragEvent carrying a File. */
export async function dropFile(page, bytes, name, type) {
  await page.evaluate(({ b64, name, type }) => {
    const raw = atob(b64);
    const data = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], name, { type }));
    const target = document.querySelector('main');
    for (const kind of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: transfer }));
    }
  }, { b64: Buffer.from(bytes).toString('base64'), name, type });
}

/**
 * Copies photo files into the page once (`window.__staged[i]`), for tests that drop many:
 * passing the bytes through page.evaluate on every drop grows the page's JS heap by about
 * their size each time, which would hide or fake a leak of the page's own.
 */
export async function stageFiles(page, files) {
  await page.evaluate((list) => {
    window.__staged = list.map((b64) => {
      const raw = atob(b64);
      const data = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
      return data;
    });
  }, files.map((bytes) => Buffer.from(bytes).toString('base64')));
}

/** Drops staged file `index` (see stageFiles) under `name`, like dropFile. */
export async function dropStaged(page, index, name, type) {
  await page.evaluate(({ index, name, type }) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([window.__staged[index]], name, { type }));
    const target = document.querySelector('main');
    for (const kind of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: transfer }));
    }
  }, { index, name, type });
}

/** Waits for the overlay canvas to leave the working state; returns its final state. */
export async function waitForResult(page, timeout = 300_000) {
  await page.waitForFunction(() => {
    const state = document.querySelector('[data-testid=overlay]').dataset.state;
    return state === 'ready' || state === 'error';
  }, null, { timeout, polling: 100 });
  return page.getAttribute('[data-testid=overlay]', 'data-state');
}

/** A canvas's pixels (the overlay unless `selector` names another canvas):
 * { width, height, data: Buffer (RGBA) }. */
export async function canvasPixels(page, selector = '[data-testid=overlay]') {
  const { width, height, b64 } = await page.evaluate((selector) => {
    const canvas = document.querySelector(selector);
    // The page's canvases show engine bitmaps ('bitmaprenderer'): copy to a 2D canvas to read.
    const copy = new OffscreenCanvas(canvas.width, canvas.height);
    const context = copy.getContext('2d');
    context.drawImage(canvas, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let text = '';
    for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, b64: btoa(text) };
  }, selector);
  return { width, height, data: Buffer.from(b64, 'base64') };
}

/** Runs the native engine (flex, same weights) on a photo: { report, pixels }; `extra`
 * adds `gradcam explain` options (e.g. ['--method', 'layercam', '--colormap', 'viridis']). */
export function nativeOverlay(photo, weights, target, extra = []) {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  const out = join(mkdtempSync(join(tmpdir(), 'gradcam-')), 'overlay.png');
  const args = ['explain', photo, '--weights', weights, '--device', 'cpu', '--out', out, '--json'];
  if (target !== undefined && target !== null) args.push('--target', String(target));
  args.push(...extra);
  const run = spawnSync(bin, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gradcam failed: ${run.stderr}`);
  const png = PNG.sync.read(readFileSync(out));
  return { report: JSON.parse(run.stdout), pixels: { width: png.width, height: png.height, data: png.data } };
}

/** Per-channel differences between two RGBA images of equal size. */
export function compareImages(a, b) {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  }
  let sum = 0;
  let max = 0;
  let over8 = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(a.data[i + c] - b.data[i + c]);
      sum += d;
      max = Math.max(max, d);
      if (d > 8) over8 += 1;
      n += 1;
    }
  }
  return { meanAbs: sum / n, max, fractionOver8: over8 / n };
}

/**
 * Starts watching the page's main thread: every long task (> 50 ms, Long Tasks API) and the
 * largest gap between ticks of a 10 ms interval (an upper bound on the longest task, since a
 * blocked thread delays the next tick). Read it with `mainThreadReport`.
 */
export async function watchMainThread(page) {
  await page.evaluate(() => {
    const watch = { longTasks: [], gaps: [], last: performance.now() };
    window.__mainThread = watch;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) watch.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask' });
    setInterval(() => {
      const now = performance.now();
      watch.gaps.push({ at: now, gap: now - watch.last });
      watch.last = now;
    }, 10);
  });
  return page.evaluate(() => performance.now());
}

/** Long tasks and the largest tick gap (ms) since `since` (a page performance.now()). */
export function mainThreadReport(page, since) {
  return page.evaluate((since) => {
    const watch = window.__mainThread;
    const longTasks = watch.longTasks.filter((t) => t.start >= since);
    const gaps = watch.gaps.filter((g) => g.at >= since);
    return { longTasks, maxGapMs: Math.max(0, ...gaps.map((g) => g.gap)), ticks: gaps.length };
  }, since);
}
