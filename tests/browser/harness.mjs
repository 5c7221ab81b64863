// Shared pieces of the browser tests: a static server for dist/ (also the browser context's
// proxy, so it sees every request the page, its workers and its service worker make),
// headless Chromium with WebGPU on SwiftShader, a real drop of a file, canvas read-back, the
// native reference and the checks that a comparison with it means something.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync, mkdtempSync } from 'node:fs';
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

/** The headers that make the page cross-origin isolated (the threaded engine needs it). */
const ISOLATION_HEADERS = new Set(['cross-origin-opener-policy', 'cross-origin-embedder-policy']);

/** The window sizes the page is checked and pictured at (Playwright context options). */
export const WINDOWS = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  laptop: { viewport: { width: 1280, height: 800 } },
  desktop: { viewport: { width: 1920, height: 1080 } },
};

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

/** Every test server by origin: openPage makes it the proxy of the pages it opens there. */
const SERVERS = new Map();

/**
 * Hosts of Chromium's own services that the test browser still contacts through a context's
 * proxy, whatever page it shows: Autofill asks for form hints for any page with inputs. Only
 * the browser process makes these requests (the context's request log, which sees every
 * request of the page, its workers and its service worker, never has them); the server logs
 * them as `browser`, not as the page's. Chromium offers no switch for it but a feature that
 * Playwright's own `--disable-features` list would lose if given again.
 */
const BROWSER_SERVICES = new Set(['content-autofill.googleapis.com:443']);

/**
 * What one request to the test server was: `own` when it is one of the page's own static
 * files (a GET or HEAD of a file that exists, or of a path the test answers itself), else
 * why not: `foreign` (another origin: the server is the browser context's proxy, so a
 * request to any origin arrives here, as an absolute URL or a CONNECT), `method`,
 * `missing` or `outside` (a path outside the served folders); Chromium's own services are
 * `browser` (see BROWSER_SERVICES).
 */
function classify(req, host, target, file, overridden) {
  if (target.host !== host) return 'foreign';
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'method';
  if (overridden) return 'own';
  if (!file) return 'outside';
  return existsSync(file) ? 'own' : 'missing';
}

/**
 * Serves dist/ on a free loopback port, with /weights/* from `weights` (default WEIGHTS_DIR)
 * and `/<prefix>/*` from `mounts[prefix]` (the benchmarks' extra folders), with
 * SERVE_HEADERS; `isolated: false` leaves out the cross-origin isolation headers (a static
 * host that cannot send them).
 * Resolves to { origin, close, hits, log, strayRequests, override, restore, workerScripts }:
 * `hits` maps each URL path to its number of requests; `log` lists every request
 * ({ method, url, host, kind }, see `classify`), and `strayRequests()` those that were not
 * the page's own static files; `override(path, handler)` answers that path with
 * `handler(req, res, file)` (see `faults`) until `restore(path)`.
 */
export function serveDist({ weights = WEIGHTS_DIR, mounts = {}, isolated = true } = {}) {
  const headers = Object.entries(SERVE_HEADERS).filter(([key]) => isolated || !ISOLATION_HEADERS.has(key.toLowerCase()));
  const hits = new Map();
  const log = [];
  const overrides = new Map();
  let host = null;
  const server = createServer((req, res) => {
    // Through the proxy the URL is absolute; asked directly, the Host header names the origin.
    let target;
    try {
      target = new URL(req.url, `http://${req.headers.host}`);
    } catch {
      target = { host: null, pathname: '/' }; // unparsable: counted as foreign below
    }
    const path = decodeURIComponent(target.pathname);
    let file = fileFor(path, weights, mounts);
    const kind = classify(req, host, target, file, overrides.has(path));
    log.push({ method: req.method, url: req.url, host: req.headers.host, kind });
    if (kind === 'foreign') { res.writeHead(403).end(); return; } // never forwarded
    hits.set(path, (hits.get(path) || 0) + 1);
    for (const [key, value] of headers) res.setHeader(key, value);
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
  // HTTPS (and WebSocket) through a proxy starts with CONNECT: to another origin, always.
  server.on('connect', (req, socket) => {
    log.push({ method: 'CONNECT', url: req.url, host: req.headers.host, kind: BROWSER_SERVICES.has(req.url) ? 'browser' : 'foreign' });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    host = `127.0.0.1:${server.address().port}`;
    const origin = `http://${host}`;
    const handle = {
      origin,
      close: () => { SERVERS.delete(origin); server.close(); server.closeAllConnections(); },
      hits,
      log,
      strayRequests: () => log.filter((r) => r.kind !== 'own' && r.kind !== 'browser'),
      override: (path, handler) => overrides.set(path, handler),
      /** Runs `scripts` (functions) in the engine's worker before its own code (as page init
       * scripts do for the page), until `restore('/worker.js')`. The prelude is part of the
       * worker's module, so it runs after the module's imports are loaded but before any of
       * the worker's own statements (before the wasm is instantiated). */
      workerScripts: (scripts) => overrides.set('/worker.js', (req, res, file) => {
        const prelude = scripts.map((f) => `(${f})();\n`).join('');
        send(res, Buffer.from(prelude + readFileSync(file, 'utf8')), 'text/javascript');
      }),
      restore: (path) => overrides.delete(path),
    };
    SERVERS.set(origin, handle);
    ok(handle);
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
  /** The whole file, in `chunks` pieces spread over `ms`: a slow but working network. */
  paced: (ms, chunks = 20) => (req, res, file) => {
    const bytes = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    const piece = Math.ceil(bytes.length / chunks);
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      res.write(bytes.subarray(at, at + piece));
      at += piece;
      if (at < bytes.length) setTimeout(next, ms / chunks); else res.end();
    };
    next();
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

const CONTEXT_REQUESTS = new WeakMap();

/**
 * A browser context for pages of `origin`: its proxy is the test server at `origin`, so a
 * request to any other origin (from a page, a worker or a service worker) reaches that
 * server and is logged there instead of leaving the machine; every request the context
 * makes (service workers' fetches included, which page-level events miss) is recorded in
 * `contextRequests(context)`. `withoutWebGpu` removes navigator.gpu before any script runs,
 * as in a browser without WebGPU; `softwareGpu: 'allow'` (the default here, so that the
 * tests cover the WebGPU path on SwiftShader) stores the user's choice to use a software GPU
 * anyway, and `softwareGpu: null` leaves the page's own choice (the CPU); `initScripts`
 * (functions) also run before the page's scripts; Content-Security-Policy violations are
 * kept in the page's `window.__cspViolations`.
 */
export async function newContext(browser, origin, {
  withoutWebGpu = false, softwareGpu = 'allow', initScripts = [], ...options
} = {}) {
  const context = await browser.newContext({ ...options, proxy: { server: origin } });
  const requests = [];
  CONTEXT_REQUESTS.set(context, requests);
  context.on('request', (r) => requests.push(r.url()));
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
  return context;
}


/** Every request the context made so far (see newContext); null for a context made otherwise. */
export const contextRequests = (context) => CONTEXT_REQUESTS.get(context) || null;

/**
 * Opens the page in a new context (see newContext for `withoutWebGpu`, `softwareGpu`, `initScripts` and
 * `contextOptions`: permissions, downloads), or in `context` to share its Cache API
 * storage, as on a second visit. The page's own requests are recorded in `requests`,
 * alert/confirm dialogs in `dialogs` (and dismissed).
 */
export async function openPage(browser, origin, {
  query = '', withoutWebGpu = false, softwareGpu = 'allow', initScripts = [], context: shared,
  contextOptions = {},
} = {}) {
  const context = shared || await newContext(browser, origin, { withoutWebGpu, softwareGpu, initScripts, ...contextOptions });
  const page = await context.newPage();
  const requests = [];
  const logs = [];
  const dialogs = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(`${origin}/${query}`);
  return { page, context, origin, requests, logs, dialogs };
}

/** An init script recording every state of the overlay canvas, with the number of engine
 * restarts at that moment, in `window.__states` (to check that nothing stale was shown). */
export function recordCanvasStates() {
  window.__states = [];
  addEventListener('DOMContentLoaded', () => {
    const canvas = document.querySelector('[data-testid=overlay]');
    new MutationObserver(() => window.__states.push({
      state: canvas.dataset.state, restarts: Number(document.body.dataset.engineRestarts || 0), t: performance.now(),
    })).observe(canvas, { attributes: true, attributeFilter: ['data-state'] });
  });
}

/** The Content-Security-Policy violations the page has seen so far. */
export function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations || ['(no recorder)']);
}

/** Requests that left the page's own origin (data: and blob: URLs stay on the machine). */
export function foreignRequests(requests, origin) {
  return requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
}

/**
 * Asserts that nothing left the machine for a session of openPage, seen three ways: the
 * page's own request events, every request of its browser context (workers and the service
 * worker included), and the test server's log, where each request must be one of the page's
 * own static files (the server is also the context's proxy: a request to another origin
 * arrives there too). Covers every page and request of the context and server so far.
 */
export function assertNoForeignRequests({ requests, context, origin }) {
  assert.deepEqual(foreignRequests(requests, origin), [], 'the page requested something outside its own origin');
  const all = contextRequests(context);
  assert.ok(all, 'the context records its requests (make it with openPage or newContext)');
  assert.ok(all.length >= requests.length, `the context saw ${all.length} requests, its page alone ${requests.length}`);
  assert.deepEqual(foreignRequests(all, origin), [], 'the context (a worker or the service worker) requested something outside the origin');
  const server = SERVERS.get(origin);
  assert.ok(server, `no test server at ${origin}`);
  assert.deepEqual(server.strayRequests(), [], 'the test server saw requests that are not the page\'s own static files');
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

/** Waits until the overlay is drawn with settings that include `expected` (its
 * data-settings: the explain and view settings and the view). */
export async function waitForSettings(page, expected) {
  await page.waitForFunction((want) => {
    const canvas = document.querySelector('[data-testid=overlay]');
    if (canvas.dataset.state !== 'ready' || !canvas.dataset.settings) return false;
    const shown = JSON.parse(canvas.dataset.settings);
    return Object.entries(want).every(([k, v]) => JSON.stringify(shown[k]) === JSON.stringify(v));
  }, expected, { timeout: 120_000, polling: 20 });
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

/** A `.npy` file of float32 values: { shape, data: Float32Array }. */
export function parseNpy(bytes) {
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const shape = JSON.parse(`[${/'shape': \(([^)]*)\)/.exec(header)[1].replace(/,\s*$/, '')}]`);
  assert.match(header, /'descr': '<f4'/);
  const start = 10 + headerLength;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return { shape, data };
}

/** Runs the native engine (flex, same weights) on a photo: { report, pixels, map } (`map`:
 * the raw map at feature resolution, see parseNpy); `extra` adds `gradcam explain` options
 * (e.g. ['--method', 'layercam', '--colormap', 'viridis']). */
export function nativeOverlay(photo, weights, target, extra = []) {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  const dir = mkdtempSync(join(tmpdir(), 'gradcam-'));
  const out = join(dir, 'overlay.png');
  const args = ['explain', photo, '--weights', weights, '--device', 'cpu', '--out', out, '--json'];
  if (target !== undefined && target !== null) args.push('--target', String(target));
  args.push(...extra);
  const camOut = extra.includes('--cam-out') ? extra[extra.indexOf('--cam-out') + 1] : join(dir, 'map.npy');
  if (!extra.includes('--cam-out')) args.push('--cam-out', camOut);
  const run = spawnSync(bin, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gradcam failed: ${run.stderr}`);
  const png = PNG.sync.read(readFileSync(out));
  return {
    report: JSON.parse(run.stdout),
    pixels: { width: png.width, height: png.height, data: png.data },
    map: parseNpy(readFileSync(camOut)),
  };
}

/** `gradcam evaluate` on `photo` with `weights` on the CPU, `args` added: { map name: metrics }
 * (the method's name or a baseline's). */
export function nativeTrust(photo, weights, args) {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  const run = spawnSync(bin, ['evaluate', photo, '--weights', weights, '--device', 'cpu', '--json', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gradcam evaluate failed: ${run.stderr}`);
  return Object.fromEntries(run.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.method, r.metrics]));
}

/** Runs the Trust panel's check on the map on screen and waits for its numbers; returns
 * how long it took (ms). Fails with the panel's message if it did not finish. */
export async function runTrustCheck(page) {
  const started = Date.now();
  await page.click('[data-testid=trust-run]');
  await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state === 'working', null, { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state !== 'working', null, { timeout: 600_000, polling: 250 });
  assert.equal(await page.getAttribute('[data-testid=trust]', 'data-state'), 'ready', await page.textContent('[data-testid=trust-status]'));
  return Date.now() - started;
}

/** The Trust panel table's numbers: { metric: { map name: value } }. */
export async function trustTable(page) {
  return page.$$eval('[data-testid=trust-table] tbody tr', (rows) => Object.fromEntries(rows.map((tr) => [
    tr.dataset.metric,
    Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.map, Number(td.dataset.value)])),
  ])));
}

/** The Trust panel's plotted lines: [[name, points]] of the SVG `testid`. */
export async function plottedLines(page, testid) {
  return page.$$eval(`[data-testid=${testid}] polyline`, (ps) => ps.map((p) => [p.dataset.curve, p.getAttribute('points').split(' ').length]));
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

/** How much an RGBA image varies: the number of distinct colours (up to 1024) and the
 * standard deviation of its channel values, in levels. */
export function pixelSpread({ data }) {
  const colours = new Set();
  let sum = 0;
  let squares = 0;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (colours.size < 1024) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    for (let c = 0; c < 3; c++) {
      sum += data[i + c];
      squares += data[i + c] * data[i + c];
      n += 1;
    }
  }
  const mean = sum / n;
  return { colours: colours.size, std: Math.sqrt(Math.max(0, squares / n - mean * mean)) };
}

/** Asserts that an image is a picture, not a blank or uniform canvas (which two sides of a
 * comparison could both draw). */
export function assertVaries(pixels, what) {
  const spread = pixelSpread(pixels);
  assert.ok(spread.colours >= 64 && spread.std >= 8, `${what}: the image hardly varies (${JSON.stringify(spread)})`);
}

/** Asserts that a raw map (see nativeOverlay's `map`) is not flat: it has a positive maximum
 * above its minimum, so that the overlay shows a heatmap and not the plain photo. */
export function assertMapNotFlat({ shape, data }, what) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    assert.ok(Number.isFinite(v), `${what}: the map holds ${v}`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.ok(hi > 0 && hi - lo > 1e-6 * hi, `${what}: the ${shape.join('×')} map is flat (${lo} to ${hi}): the overlay is the plain photo`);
}

/**
 * Asserts that a canvas's pixels (`actual`) equal the native engine's overlay (`native`, from
 * nativeOverlay) within the backends' rounding — mean |Δ| ≤ 1 level and ≤ 1 % of channel
 * values off by more than 8 — and that the equality means something: the native map is
 * not flat (so the native overlay is a heatmap, not the bare photo) and both images vary.
 */
export function assertSameHeatmap(actual, native, what) {
  assertMapNotFlat(native.map, `${what} (native)`);
  assertVaries(native.pixels, `${what} (native)`);
  assertVaries(actual, what);
  const diff = compareImages(actual, native.pixels);
  console.log(`${what}: mean |Δ| ${diff.meanAbs.toFixed(3)}, max ${diff.max}, >8 levels ${(100 * diff.fractionOver8).toFixed(3)} %`);
  assert.ok(diff.meanAbs <= 1.0, `${what}: mean difference ${diff.meanAbs}`);
  assert.ok(diff.fractionOver8 <= 0.01, `${what}: ${diff.fractionOver8} of values off by > 8`);
}

const OVERLAY = '[data-testid=overlay]';

/** assertSameHeatmap for a canvas of the page (the overlay unless `selector` names another);
 * on the overlay it also asserts that the page drew a map that is not flat. Returns the
 * canvas's pixels. */
export async function assertCanvasMatchesNative(page, native, what, selector = OVERLAY) {
  const pixels = await canvasPixels(page, selector);
  if (selector === OVERLAY) {
    assert.equal(await page.getAttribute(OVERLAY, 'data-flat'), 'false', `${what}: the page drew a flat map (the plain photo)`);
  }
  assertSameHeatmap(pixels, native, what);
  return pixels;
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

/** Drops the folder `dir` on the page as a user drags one from the file manager: the
 * browser's own drag events (DevTools protocol), whose items are directory entries. */
export async function dropFolder(page, dir, at = { x: 200, y: 200 }) {
  const cdp = await page.context().newCDPSession(page);
  await page.mouse.move(at.x, at.y);
  const data = { items: [], files: [dir], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) {
    await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  }
  await cdp.detach();
}

/** The entries of a zip archive of stored entries, read from its central directory:
 * { name: Buffer }. */
export function readZip(bytes) {
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'a zip archive ends with its end-of-central-directory record');
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  const entries = {};
  for (let i = 0; i < count; i++) {
    assert.equal(bytes.readUInt32LE(at), 0x02014b50, 'a central directory record');
    assert.equal(bytes.readUInt16LE(at + 10), 0, 'stored, not compressed');
    const size = bytes.readUInt32LE(at + 24);
    const nameLength = bytes.readUInt16LE(at + 28);
    const local = bytes.readUInt32LE(at + 42);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const data = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    entries[name] = bytes.subarray(data, data + size);
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return entries;
}

/** Adds the PyTorch state dict `checkpoint` with its class names `labels` through the "Your
 * model…" dialog, and waits until the page has converted and loaded it. */
export async function addOwnModel(page, checkpoint, labels) {
  await page.click('[data-testid=own-open]');
  await page.setInputFiles('[data-testid=own-file]', checkpoint);
  await page.waitForFunction(() => document.querySelector('[data-testid=own-found]').dataset.classes !== undefined, null, { timeout: 120_000 });
  await page.setInputFiles('[data-testid=own-labels]', labels);
  await page.click('[data-testid=own-add]');
  await page.waitForFunction(() => document.body.dataset.model?.startsWith('own-') && document.body.dataset.ready === 'true'
    && !document.querySelector('[data-testid=own]').open, null, { timeout: 300_000 });
}
