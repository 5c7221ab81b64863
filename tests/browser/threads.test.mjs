// Threads in the page's CPU backend. On a cross-origin isolated page (the headers `trunk
// serve` sends, or sw.js on a static host that cannot) the engine runs the threaded build, one
// thread per core, draws the map the native CLI draws and runs the forward pass faster than
// the one-thread build; without isolation it runs the one-thread build and says why; a CPU
// thread that fails while the engine starts leaves the page on the one-thread build, saying
// so; a browser without WebGPU downloads the threaded build alone. Prints the forward pass on
// each build.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FIXTURES, ROOT, WEIGHTS_DIR, assertCanvasMatchesNative, dropFile, launchBrowser, nativeOverlay, openPage,
  serveDist, waitForResult, waitReady,
} from './harness.mjs';

const MODEL = 'efficientnet-lite0';
const QUERY = `?model=${MODEL}`;
const PHOTO = join(FIXTURES, 'chelsea.png');
const THREADED_WASM = '/threads/gradcam-web_bg.wasm';
const MAIN_WASM = '/gradcam-web_bg.wasm';

let browser;
let isolated; // serves the isolation headers, as `trunk serve` does
let plain; // a static host without them
let native;

before(async () => {
  const mounts = { bench: join(ROOT, 'tests/bench') };
  [isolated, plain, browser] = await Promise.all([
    serveDist({ mounts }), serveDist({ mounts, isolated: false }), launchBrowser(),
  ]);
  native = nativeOverlay(PHOTO, join(WEIGHTS_DIR, `${MODEL}.bpk`));
});

after(async () => {
  await browser?.close();
  isolated?.close();
  plain?.close();
});

const backend = (page) => page.textContent('[data-testid=backend]');
const hits = (server, path) => server.hits.get(path) || 0;
// Where a test counts requests, no service worker (its install fetches every file of the app).
const NO_SW = { serviceWorkers: 'block' };

/** Drops the photo, waits for its map and checks it against the native CLI's. */
async function explainMatchesNative(page, what) {
  await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(page), 'ready', await page.textContent('[data-testid=status]'));
  await assertCanvasMatchesNative(page, native, what);
}

test('an isolated page computes on every core and draws what the native CLI draws', async () => {
  const before = hits(isolated, THREADED_WASM);
  const { page, context } = await openPage(browser, isolated.origin, { query: QUERY, softwareGpu: null, contextOptions: NO_SW });
  try {
    await waitReady(page);
    const { crossOriginIsolated, cores } = await page.evaluate(() => ({
      crossOriginIsolated: window.crossOriginIsolated, cores: navigator.hardwareConcurrency,
    }));
    assert.ok(crossOriginIsolated, 'the page is cross-origin isolated');
    assert.ok(cores > 1, 'this test needs a machine with more than one core');
    assert.match(await backend(page), new RegExp(`^Backend: CPU, ${cores} threads \\(only a software GPU is available`));
    assert.equal(hits(isolated, THREADED_WASM), before + 1, 'the threaded build was loaded');
    assert.equal(hits(isolated, '/cpu-thread.js'), cores, 'one worker per thread');
    await explainMatchesNative(page, 'the threaded CPU engine');
  } finally {
    await context.close();
  }
});

test('without a WebGPU adapter only the threaded build is downloaded', async () => {
  const main = hits(isolated, MAIN_WASM);
  const threaded = hits(isolated, THREADED_WASM);
  const { page, context } = await openPage(browser, isolated.origin, { query: QUERY, withoutWebGpu: true, contextOptions: NO_SW });
  try {
    await waitReady(page);
    assert.match(await backend(page), /^Backend: CPU, \d+ threads \(this browser has no WebGPU\)$/);
    assert.equal(hits(isolated, THREADED_WASM), threaded + 1);
    assert.equal(hits(isolated, MAIN_WASM), main, 'the main build (WebGPU) was not downloaded');
  } finally {
    await context.close();
  }
});

test('without isolation the one-thread build runs and the page says why', async () => {
  const before = hits(plain, THREADED_WASM);
  const { page, context } = await openPage(browser, plain.origin, {
    query: QUERY, softwareGpu: null, contextOptions: NO_SW,
  });
  try {
    await waitReady(page);
    assert.equal(await page.evaluate(() => window.crossOriginIsolated), false);
    assert.match(await backend(page), /^Backend: CPU, 1 thread \(only a software GPU is available .*; threads need a cross-origin isolated page\)$/);
    assert.equal(hits(plain, THREADED_WASM), before, 'the threaded build was not downloaded');
    await explainMatchesNative(page, 'the one-thread CPU engine');
  } finally {
    await context.close();
  }
});

test('on a static host without the headers, the service worker isolates the page', async () => {
  const { page, context } = await openPage(browser, plain.origin, { query: QUERY, softwareGpu: null });
  try {
    // The first load registers sw.js; once it controls the page, the page reloads isolated.
    await page.waitForFunction(() => window.crossOriginIsolated, null, { timeout: 60_000, polling: 250 })
      .catch(async (e) => {
        if (!/context was destroyed|navigat/i.test(e.message)) throw e;
        await page.waitForFunction(() => window.crossOriginIsolated, null, { timeout: 60_000, polling: 250 });
      });
    await waitReady(page);
    assert.match(await backend(page), /^Backend: CPU, \d+ threads \(/);
    await explainMatchesNative(page, 'the threaded CPU engine, isolated by the service worker');
  } finally {
    await context.close();
  }
});

test('a CPU thread that fails as the engine starts leaves the page on one thread', async () => {
  // The first thread served traps where it would run its share of the pool.
  isolated.override('/cpu-thread.js', (req, res, file) => {
    isolated.restore('/cpu-thread.js');
    const script = readFileSync(file, 'utf8').replace('runThread();', "throw new WebAssembly.RuntimeError('unreachable');");
    assert.notEqual(script, readFileSync(file, 'utf8'), 'cpu-thread.js no longer calls runThread();');
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
  });
  const { page, context } = await openPage(browser, isolated.origin, { query: QUERY, softwareGpu: null, contextOptions: NO_SW });
  try {
    await waitReady(page);
    assert.match(await backend(page), /^Backend: CPU, 1 thread \(.*; the CPU threads failed \(Uncaught RuntimeError: unreachable\)\)$/);
    await explainMatchesNative(page, 'the one-thread engine after the threads failed');
  } finally {
    isolated.restore('/cpu-thread.js');
    await context.close();
  }
});

/** The engine's forward pass in an empty page of `server` on the CPU: { label, threads, ms }
 * (the median of `runs` after `warmup`). */
async function forwardOnCpu(server, model, runs = 7, warmup = 1) {
  const { page, context } = await openPage(browser, server.origin, {
    query: 'bench/engine.html', contextOptions: NO_SW,
  });
  try {
    return await page.evaluate(async ({ model, runs, warmup }) => {
      const { startEngine } = await import('/engine.js');
      const engine = await startEngine({ allowGpu: false });
      try {
        const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
        await engine.call('loadWeights', [await bytes(`/weights/${model}.bpk`)]);
        await engine.call('setPhoto', [await bytes('/samples/chelsea.jpg')]);
        const times = [];
        for (let i = 0; i < warmup + runs; i++) times.push((await engine.call('forward')).ms);
        const timed = times.slice(warmup).sort((a, b) => a - b);
        return { label: engine.label, threads: engine.threads, ms: timed[timed.length >> 1] };
      } finally {
        engine.dispose();
      }
    }, { model, runs, warmup });
  } finally {
    await context.close();
  }
}

test('the threaded build runs the forward pass faster than the one-thread build', async () => {
  // ResNet-101's convolutions (untrained weights: the time does not depend on their values).
  // Measured on 2 cores: 0.6–0.8 of the one-thread time; the threaded build without its pool
  // (rayon on the calling thread alone) takes about 1.4 times the one-thread build's.
  const model = 'resnet101-untrained';
  const one = await forwardOnCpu(plain, model);
  const many = await forwardOnCpu(isolated, model);
  console.log(`${model} forward on the page's CPU: ${one.ms.toFixed(1)} ms on 1 thread, `
    + `${many.ms.toFixed(1)} ms on ${many.threads} (${(one.ms / many.ms).toFixed(2)}× faster)`);
  assert.equal(one.threads, 1, one.label);
  assert.ok(many.threads > 1, many.label);
  assert.ok(many.ms < 0.9 * one.ms, `threads gain too little: ${many.ms.toFixed(1)} ms vs ${one.ms.toFixed(1)} ms`);
});
