// GPU faults, each made real inside Chromium before the engine's scripts run: no WebGPU at
// all, an adapter request that fails, a device that cannot be created, and a device lost in
// the middle of a run (GPUDevice.destroy() from the test). The engine lives in a Web Worker,
// so the faults are set up in that worker (server.workerScripts) and the device is destroyed
// there. Each ends on a working backend (the CPU on threads: the test server isolates the page),
// says what happened, and never shows a map from before the fault as current.
//
// EfficientNet-Lite0 (trained, small) keeps the WebGPU runs on SwiftShader short.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, WEIGHTS_DIR, assertCanvasMatchesNative, dropFile, launchBrowser, nativeOverlay, openPage,
  recordCanvasStates, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const QUERY = '?model=efficientnet-lite0';
const PHOTO = join(FIXTURES, 'chelsea.png');

let server;
let browser;
let native;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
  native = nativeOverlay(PHOTO, join(WEIGHTS_DIR, 'efficientnet-lite0.bpk'));
});

after(async () => {
  await browser?.close();
  server?.close();
});

const backendText = (page) => page.textContent('[data-testid=backend]');

async function explainChelsea(page) {
  await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  return waitForResult(page);
}

const assertNativeHeatmap = (page, what) => assertCanvasMatchesNative(page, native, `${what} vs native`);

describe('WebGPU unavailable or failing at start: the CPU takes over and the page says why', { timeout: 300_000 }, () => {
  const cases = [
    ['no navigator.gpu', { withoutWebGpu: true }, /CPU, \d+ threads \(this browser has no WebGPU\)/],
    ['requestAdapter() rejects', {
      workerScripts: [() => { GPU.prototype.requestAdapter = async () => { throw new Error('test: adapter refused'); }; }],
    }, /CPU, \d+ threads \(the WebGPU adapter request failed \(test: adapter refused\)\)/],
    ['requestAdapter() finds no adapter', {
      workerScripts: [() => { GPU.prototype.requestAdapter = async () => null; }],
    }, /CPU, \d+ threads \(no WebGPU adapter is available\)/],
    ['requestDevice() rejects', {
      workerScripts: [() => {
        GPUAdapter.prototype.requestDevice = async () => { throw new DOMException('test: device refused', 'OperationError'); };
      }],
    }, /CPU, \d+ threads \(WebGPU failed: .+\)/],
  ];
  for (const [what, { workerScripts, ...options }, expected] of cases) {
    test(what, async () => {
      if (workerScripts) server.workerScripts(workerScripts);
      const { page, context, logs } = await openPage(browser, server.origin, { query: QUERY, ...options });
      try {
        await waitReady(page);
        assert.match(await backendText(page), expected);
        assert.equal(await page.evaluate(() => document.body.dataset.backend), 'cpu');
        assert.equal(await explainChelsea(page), 'ready', logs.join('\n'));
        await assertNativeHeatmap(page, `${what}, CPU`);
      } finally {
        server.restore('/worker.js');
        await context.close();
      }
    });
  }
});

/** Destroys every GPUDevice the engine's worker made, as a failing driver would. */
async function destroyDevices(page) {
  for (const worker of page.workers()) {
    await worker.evaluate(() => { for (const device of self.__devices || []) device.destroy(); }).catch(() => {});
  }
  return page.evaluate(() => performance.now());
}

describe('a GPU device lost during a run', { timeout: 600_000 }, () => {
  let session;

  before(async () => {
    server.workerScripts([() => {
      // Keep every device the engine creates, to destroy it as a failing driver would.
      self.__devices = [];
      const requestDevice = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function keep(...args) {
        const device = await requestDevice.apply(this, args);
        self.__devices.push(device);
        return device;
      };
    }]);
    session = await openPage(browser, server.origin, {
      query: QUERY,
      initScripts: [recordCanvasStates],
    });
    await waitReady(session.page);
  });

  after(() => {
    server.restore('/worker.js');
    return session?.context.close();
  });

  test('mid-run: the engine restarts on WebGPU, redoes the photo, and nothing stale is shown meanwhile', async () => {
    const { page } = session;
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'webgpu');
    await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
    await page.waitForFunction(() => /Computing/.test(document.getElementById('status').textContent), null, { polling: 20 });
    const lostAt = await destroyDevices(page);
    await page.waitForFunction(() => document.body.dataset.engineRestarts === '1', null, { timeout: 60_000 });
    assert.equal(await waitForResult(page), 'ready');
    const states = await page.evaluate(() => window.__states);
    const staleReady = states.filter((s) => s.t >= lostAt && s.state === 'ready' && s.restarts === 0);
    assert.deepEqual(staleReady, [], 'no map from the lost device was shown as current');
    assert.match(await page.textContent('[data-testid=engine-note]'), /GPU device was lost \(destroyed.*restarted on WebGPU/);
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'webgpu');
    await assertNativeHeatmap(page, 'after a restart on WebGPU');
  });

  test('lost again while idle: the engine moves to the CPU and redoes the photo on its own', async () => {
    const { page } = session;
    await destroyDevices(page);
    await page.waitForFunction(() => document.body.dataset.engineRestarts === '2', null, { timeout: 60_000 });
    assert.equal(await waitForResult(page), 'ready');
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'cpu');
    assert.match(await backendText(page), /CPU, \d+ threads \(the GPU failed earlier in this session\)/);
    assert.match(await page.textContent('[data-testid=engine-note]'), /restarted on CPU/);
    await assertNativeHeatmap(page, 'after moving to the CPU');
    assert.equal(await explainChelsea(page), 'ready', 'later photos work');
  });
});
