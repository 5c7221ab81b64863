// Models and their weights in the real page: the picker and the default, the shipped
// EfficientNet-Lite0 on a real photo, the Cache API on a second visit, and every way a
// download can go wrong. The faults are served by the test server itself (wrong bytes, a
// short file, a 404, a dropped connection), never mocked inside the page.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DIST, FIXTURES, ROOT, WEIGHTS_DIR, assertCanvasMatchesNative, assertNoForeignRequests, dropFile, faults,
  launchBrowser, nativeOverlay, newContext, openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const CHELSEA = join(FIXTURES, 'chelsea.png'); // a cat
const CAT_CLASSES = [281, 282, 283, 284, 285]; // tabby, tiger cat, Persian, Siamese, Egyptian cat
const EFFNET = 'efficientnet-lite0';
const EFFNET_FILE = `/weights/${EFFNET}.bpk`;
const CACHE_NAME = 'gradcam-weights-v1';

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let server;   // dist/ with the test weights (tests-only models too)
let shipped;  // dist/ exactly as built, weights included
let browser;
let manifest;

before(async () => {
  manifest = readJson(join(WEIGHTS_DIR, 'models.json'));
  server = await serveDist();
  shipped = await serveDist({ weights: join(DIST, 'weights') });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.close();
  shipped?.close();
});

const entry = (name) => manifest.models.find((m) => m.name === name);
const hits = (path) => server.hits.get(path) || 0;
const body = (page, attr) => page.getAttribute('body', `data-${attr}`);
const status = (page) => page.textContent('[data-testid=status]');

const visit = (query, { srv = server, context, withoutWebGpu } = {}) => openPage(browser, srv.origin, { query, context, withoutWebGpu });

/** Privacy and robustness for every page: nothing left the machine (page, workers, service
 * worker and the server's log), no uncaught error. */
async function finish(session, { closeContext = true } = {}) {
  assertNoForeignRequests(session);
  assert.deepEqual(session.logs.filter((l) => l.startsWith('pageerror')), [], 'uncaught errors in the page');
  await (closeContext ? session.context.close() : session.page.close());
}

/** Waits for an error in the status line; returns its text (fails if the model loads instead). */
async function waitError(page) {
  await page.waitForFunction(() => document.getElementById('status').dataset.kind === 'error'
    || document.body.dataset.ready === 'true', null, { timeout: 120_000, polling: 100 });
  const text = await status(page);
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-kind'), 'error', `expected an error, got: ${text}`);
  return text;
}

/** The paths of the page's cached weights. */
function cacheEntries(page) {
  return page.evaluate(async (name) => {
    if (!(await caches.has(name))) return [];
    const cache = await caches.open(name);
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  }, CACHE_NAME);
}

async function dropChelsea(page) {
  await dropFile(page, readFileSync(CHELSEA), 'chelsea.png', 'image/png');
  return waitForResult(page);
}

/** Waits until `model` is loaded and the photo on screen has its heatmap. */
async function waitExplainedWith(page, model) {
  await page.waitForFunction((name) => document.body.dataset.model === name
    && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', model, { timeout: 300_000, polling: 100 });
}

const top5Classes = (page) => page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => Number(li.dataset.testid.slice(6))));

/** Mean R − B of the central third and of the outer sixth on every side. */
function redness({ width, height, data }) {
  const sums = { centre: [0, 0], border: [0, 0] };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const red = data[i] - data[i + 2];
      if (x >= width / 3 && x < (2 * width) / 3 && y >= height / 3 && y < (2 * height) / 3) { sums.centre[0] += red; sums.centre[1] += 1; }
      if (x < width / 6 || x >= (5 * width) / 6 || y < height / 6 || y >= (5 * height) / 6) { sums.border[0] += red; sums.border[1] += 1; }
    }
  }
  return { centre: sums.centre[0] / sums.centre[1], border: sums.border[0] / sums.border[1] };
}

describe('the model picker and the default model', { timeout: 600_000 }, () => {
  test('without ?model= the page loads the manifest default and names it', async () => {
    const session = await visit('');
    const { page } = session;
    await waitReady(page);
    const model = entry(manifest.default);
    assert.equal(await body(page, 'model'), manifest.default);
    assert.equal(await page.inputValue('[data-testid=model]'), manifest.default);
    assert.equal(await page.textContent('[data-testid=model-name]'), model.label, 'the header names the model in use');
    assert.match(await status(page), new RegExp(`${model.label}.*sha256 verified`));
    await finish(session);
  });

  test('as shipped, the default is a trained model: EfficientNet-Lite0 unless a trained ResNet-101 was fetched', async () => {
    const own = readJson(join(DIST, 'weights/models.json'));
    const model = own.models.find((m) => m.name === own.default);
    assert.ok(model?.trained, `the shipped default ${own.default} must be trained`);
    assert.deepEqual(own.models.filter((m) => !m.trained).map((m) => m.name), [], 'no untrained model is shipped');
    if (!own.models.some((m) => m.trained && m.arch === 'resnet101')) assert.equal(own.default, EFFNET);
    const session = await visit('', { srv: shipped });
    await waitReady(session.page);
    assert.equal(await body(session.page, 'model'), own.default);
    await finish(session);
  });

  test('the picker lists every model with its size; switching re-explains the photo', { timeout: 600_000 }, async () => {
    // On the CPU backend: a ResNet on SwiftShader's WebGPU takes a minute (page.test.mjs covers it).
    const session = await visit(`?model=${EFFNET}`, { withoutWebGpu: true });
    const { page } = session;
    await waitReady(page);
    const options = await page.$$eval('[data-testid=model] option', (o) => o.map((x) => [x.value, x.textContent]));
    assert.deepEqual(options.map(([value]) => value), manifest.models.map((m) => m.name));
    for (const [[, text], m] of options.map((o, i) => [o, manifest.models[i]])) {
      assert.equal(text, `${m.label} — ${(m.bytes / 1e6).toFixed(1)} MB`);
      if (!m.trained) assert.match(text, /untrained/);
    }
    assert.equal(await page.getByLabel('Model', { exact: true }).getAttribute('data-testid'), 'model', 'the picker is labelled');
    assert.equal(await dropChelsea(page), 'ready');
    assert.ok(CAT_CLASSES.includes(Number(await page.getAttribute('[data-testid=overlay]', 'data-class'))));

    // The smallest other model, so that the switch is quick.
    const other = manifest.models.filter((m) => m.name !== EFFNET).sort((a, b) => a.bytes - b.bytes)[0];
    const started = Date.now();
    await page.selectOption('[data-testid=model]', other.name);
    // While it loads, the cat's heatmap is no longer the current result.
    assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-state'), 'working');
    assert.equal(await page.$$eval('[data-testid=top5] li', (l) => l.length), 0, 'no stale top-5');
    assert.equal(await body(page, 'model'), null);
    assert.equal(await page.textContent('[data-testid=model-name]'), other.label);
    await waitExplainedWith(page, other.name);
    console.log(`switch to ${other.name} → heatmap: ${Date.now() - started} ms`);
    assert.equal(new URL(page.url()).searchParams.get('model'), other.name);
    const native = nativeOverlay(CHELSEA, join(WEIGHTS_DIR, other.file));
    assert.deepEqual(await top5Classes(page), native.report.top5.map((p) => p.class));
    await assertCanvasMatchesNative(page, native, `chelsea.png with ${other.name}`);

    // And back: the first model comes from the cache now.
    await page.selectOption('[data-testid=model]', EFFNET);
    await waitExplainedWith(page, EFFNET);
    assert.equal(await body(page, 'weights-source'), 'cache');
    assert.ok(CAT_CLASSES.includes(Number(await page.getAttribute('[data-testid=overlay]', 'data-class'))));
    await finish(session);
  });

  test('choosing another model while one downloads abandons that download', async () => {
    const slow = manifest.models.find((m) => m.name !== EFFNET);
    const path = `/weights/${slow.file}`;
    let cancelled = false;
    server.override(path, (req, res, file) => {
      res.on('close', () => { cancelled = !res.writableFinished; });
      faults.stalled(1_000_000)(req, res, file);
    });
    const session = await visit(`?model=${slow.name}`);
    const { page } = session;
    try {
      await page.waitForFunction(() => /Downloading .*: 1\.0 MB of/.test(document.getElementById('status').textContent),
        null, { timeout: 60_000, polling: 100 });
      await page.selectOption('[data-testid=model]', EFFNET);
      await waitReady(page);
      assert.equal(await body(page, 'model'), EFFNET);
      for (let i = 0; i < 50 && !cancelled; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(cancelled, 'the server saw the abandoned download cancelled');
      assert.equal(await dropChelsea(page), 'ready');
      assert.equal(await body(page, 'model'), EFFNET);
    } finally {
      server.restore(path);
    }
    await finish(session);
  });
});

describe('EfficientNet-Lite0, as shipped', { timeout: 600_000 }, () => {
  test('finds the cat in chelsea.png and puts the heatmap on it, like the native engine', async () => {
    const session = await visit(`?model=${EFFNET}`, { srv: shipped });
    const { page } = session;
    await waitReady(page);
    const started = Date.now();
    assert.equal(await dropChelsea(page), 'ready', await status(page));
    console.log(`drop → heatmap (EfficientNet-Lite0, ${await body(page, 'backend')}): ${Date.now() - started} ms`);
    const native = nativeOverlay(CHELSEA, join(ROOT, 'weights/efficientnet-lite0.bpk'));
    const top5 = await top5Classes(page);
    assert.ok(top5.some((c) => CAT_CLASSES.includes(c)), `no cat class in the top-5: ${top5}`);
    assert.ok(CAT_CLASSES.includes(top5[0]), `top-1 is ${top5[0]}, not a cat`);
    assert.deepEqual(top5, native.report.top5.map((p) => p.class));
    const pixels = await assertCanvasMatchesNative(page, native, 'EfficientNet-Lite0 vs native');
    assert.deepEqual([pixels.width, pixels.height], [451, 300]);
    // The cat's face fills the middle of the photo: the heat must be there, not at the edges.
    const heat = redness(pixels);
    console.log(`R − B: centre ${heat.centre.toFixed(1)}, border ${heat.border.toFixed(1)}`);
    assert.ok(heat.centre - heat.border > 100, `heatmap not on the cat: ${JSON.stringify(heat)}`);
    await finish(session);
  });
});

describe('downloading, verifying and caching weights', { timeout: 600_000 }, () => {
  test('a second visit loads the weights from the Cache API, without requesting the file', async () => {
    const context = await newContext(browser, server.origin);
    const before = hits(EFFNET_FILE);
    const first = await visit(`?model=${EFFNET}`, { context });
    await waitReady(first.page);
    assert.equal(hits(EFFNET_FILE), before + 1);
    assert.equal(await body(first.page, 'weights-source'), 'network');
    assert.match(await status(first.page), /Downloaded EfficientNet-Lite0 \(9\.6 MB, sha256 verified, cached for next time\)/);
    const key = `/weights/by-sha256/${entry(EFFNET).sha256}`;
    assert.deepEqual(await cacheEntries(first.page), [key]);
    await finish(first, { closeContext: false });

    const second = await visit(`?model=${EFFNET}`, { context });
    await waitReady(second.page);
    assert.match(await status(second.page), /Loaded from cache: EfficientNet-Lite0/);
    assert.equal(await body(second.page, 'weights-source'), 'cache');
    assert.equal(hits(EFFNET_FILE), before + 1, 'the weights file was requested again');
    assert.equal(hits(key), 0, 'the cache key must never be fetched');
    assert.deepEqual(second.requests.filter((u) => u.endsWith('.bpk')), []);
    assert.equal(await dropChelsea(second.page), 'ready');
    assert.ok(CAT_CLASSES.includes(Number(await second.page.getAttribute('[data-testid=overlay]', 'data-class'))));
    await finish(second);
  });

  test('a damaged cached copy is deleted and downloaded again', async () => {
    const context = await newContext(browser, server.origin);
    const first = await visit(`?model=${EFFNET}`, { context });
    await waitReady(first.page);
    const key = `/weights/by-sha256/${entry(EFFNET).sha256}`;
    await first.page.evaluate(async ({ name, key }) => {
      const cache = await caches.open(name);
      const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
      bytes[bytes.length >> 1] ^= 0xff;
      await cache.put(key, new Response(bytes));
    }, { name: CACHE_NAME, key });
    await finish(first, { closeContext: false });

    const before = hits(EFFNET_FILE);
    const second = await visit(`?model=${EFFNET}`, { context });
    await waitReady(second.page);
    assert.equal(await body(second.page, 'weights-source'), 'network');
    assert.match(await status(second.page), /Downloaded EfficientNet-Lite0/);
    assert.equal(hits(EFFNET_FILE), before + 1);
    const cachedSha = await second.page.evaluate(async ({ name, key }) => {
      const bytes = await (await (await caches.open(name)).match(key)).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    }, { name: CACHE_NAME, key });
    assert.equal(cachedSha, entry(EFFNET).sha256, 'the cache holds the good copy again');
    await finish(second);
  });

  test('a corrupted download is refused (sha256), never cached, and Retry recovers', async () => {
    server.override(EFFNET_FILE, faults.flipped());
    const session = await visit(`?model=${EFFNET}`);
    const { page } = session;
    try {
      const message = await waitError(page);
      console.log(`flipped bytes: ${message}`);
      assert.match(message, /^The download of EfficientNet-Lite0 was corrupted \(sha256 mismatch\): got [0-9a-f]{16}…, expected 8c3d82c3d17bef54… from the model list\. Press Retry to try again\.$/);
      assert.ok(await page.isVisible('[data-testid=retry]'), 'a Retry button');
      assert.notEqual(await body(page, 'ready'), 'true');
      assert.equal(await body(page, 'model'), null);
      assert.deepEqual(await cacheEntries(page), [], 'bad bytes are never cached');
      // A photo dropped now is told why it waits.
      assert.equal(await dropChelsea(page), 'error');
      assert.match(await status(page), /chelsea\.png cannot be explained yet: The download of EfficientNet-Lite0 was corrupted/);
    } finally {
      server.restore(EFFNET_FILE);
    }
    await page.click('[data-testid=retry]');
    await waitExplainedWith(page, EFFNET);
    assert.ok(await page.isHidden('[data-testid=retry]'));
    assert.equal(await page.getAttribute('[data-testid=status]', 'data-kind'), 'info');
    assert.deepEqual(await cacheEntries(page), [`/weights/by-sha256/${entry(EFFNET).sha256}`]);
    assert.ok(CAT_CLASSES.includes(Number(await page.getAttribute('[data-testid=overlay]', 'data-class'))), 'the waiting photo is explained');
    await finish(session);
  });

  const broken = [
    ['a truncated file', () => faults.truncated(1_000_000),
      /The download of EfficientNet-Lite0 is incomplete \(truncated\): 1,000,000 of 9,598,672 bytes arrived\./],
    ['HTTP 404', () => faults.notFound(),
      /The download of EfficientNet-Lite0 failed: the server answered HTTP 404 for weights\/efficientnet-lite0\.bpk\./],
    ['a connection dropped mid-download', () => faults.dropped(2_000_000),
      // Chromium may discard what already arrived when the socket is reset: the amount varies.
      /The download of EfficientNet-Lite0 was interrupted after [\d.,]+ (kB|MB) of 9\.6 MB: /],
  ];
  for (const [what, fault, expected] of broken) {
    test(`${what} gives a clear message, and Retry tries again`, async () => {
      server.override(EFFNET_FILE, fault());
      const session = await visit(`?model=${EFFNET}`);
      const { page } = session;
      try {
        const message = await waitError(page);
        console.log(`${what}: ${message}`);
        assert.match(message, expected);
        assert.ok(await page.isVisible('[data-testid=retry]'));
        assert.deepEqual(await cacheEntries(page), []);
        const before = hits(EFFNET_FILE);
        await page.click('[data-testid=retry]'); // still broken: the same message again
        assert.match(await waitError(page), expected);
        assert.equal(hits(EFFNET_FILE), before + 1, 'Retry downloads again');
      } finally {
        server.restore(EFFNET_FILE);
      }
      await page.click('[data-testid=retry]');
      await waitReady(page);
      assert.equal(await body(page, 'model'), EFFNET);
      await finish(session);
    });
  }

  test('bytes that pass the check but the engine rejects give a clear message and are not cached', async () => {
    const junk = Buffer.from('this is not a burnpack file. '.repeat(1000));
    const bad = { ...entry(EFFNET), name: 'broken', label: 'Broken Model', file: 'broken.bpk', bytes: junk.length, sha256: sha256(junk) };
    const list = Buffer.from(JSON.stringify({ ...manifest, models: [...manifest.models, bad] }));
    server.override('/weights/models.json', faults.bytes(list, 'application/json'));
    server.override('/weights/broken.bpk', faults.bytes(junk));
    try {
      const session = await visit('?model=broken');
      const { page } = session;
      const message = await waitError(page);
      console.log(`engine rejects the bytes: ${message}`);
      assert.match(message, /^Broken Model could not be loaded by the engine: .+ Press Retry to try again\.$/);
      assert.ok(await page.isVisible('[data-testid=retry]'));
      assert.deepEqual(await cacheEntries(page), []);
      // The engine is still usable: pick a good model.
      await page.selectOption('[data-testid=model]', EFFNET);
      await waitReady(page);
      assert.equal(await dropChelsea(page), 'ready');
      await finish(session);
    } finally {
      server.restore('/weights/models.json');
      server.restore('/weights/broken.bpk');
    }
  });
  test('a valid file of another architecture than models.json promises is refused and not cached', async () => {
    // The ResNet-18 file under the EfficientNet-Lite0 entry, with its own (correct) sha256:
    // the download checks out, the engine can load it, but it is not the model offered.
    const other = entry('resnet18-untrained');
    const impostor = { ...entry(EFFNET), name: 'impostor', label: 'Impostor', file: other.file, bytes: other.bytes, sha256: other.sha256 };
    const list = Buffer.from(JSON.stringify({ ...manifest, models: [...manifest.models, impostor] }));
    server.override('/weights/models.json', faults.bytes(list, 'application/json'));
    try {
      const session = await visit('?model=impostor', { withoutWebGpu: true });
      const { page } = session;
      const message = await waitError(page);
      console.log(`another architecture: ${message}`);
      assert.match(message, /^Impostor could not be loaded by the engine: the file holds resnet18 \(1000 classes\), but models\.json lists it as efficientnet-lite0 \(1000 classes\)\. Press Retry to try again\.$/);
      assert.deepEqual(await cacheEntries(page), []);
      await page.selectOption('[data-testid=model]', EFFNET);
      await waitReady(page);
      assert.equal(await dropChelsea(page), 'ready');
      await finish(session);
    } finally {
      server.restore('/weights/models.json');
    }
  });
});
