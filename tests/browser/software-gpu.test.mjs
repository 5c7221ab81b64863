// The right backend for the machine: where WebGPU offers only a software GPU (headless
// Chromium here: SwiftShader), the page runs on the CPU backend, says why, and offers to use
// the software GPU anyway; that choice restarts the engine on WebGPU and is remembered.
// (Every other browser test chooses the software GPU, to cover the WebGPU path.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.close();
});

const backend = (page) => page.textContent('[data-testid=backend]');

test('a software GPU is not preferred over the CPU, and can be chosen anyway', async () => {
  const { page, context } = await openPage(browser, server.origin, { softwareGpu: null });
  await waitReady(page);
  assert.match(await backend(page), /CPU, \d+ threads? \(only a software GPU is available \(google swiftshader.*\), slower than the CPU\)/);
  assert.equal(await page.getAttribute('body', 'data-backend'), 'cpu');
  const toggle = page.locator('[data-testid=software-gpu]');
  assert.ok(await toggle.isVisible(), 'the page offers the software GPU');
  assert.equal(await toggle.isChecked(), false);

  const started = Date.now();
  await dropFile(page, readFileSync(join(FIXTURES, 'chelsea.png')), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(page), 'ready');
  console.log(`drop → heatmap on the CPU (software GPU declined): ${Date.now() - started} ms`);

  await toggle.check();
  await page.waitForFunction(() => document.body.dataset.backend === 'webgpu', null, { timeout: 120_000 });
  await waitReady(page);
  assert.match(await backend(page), /WebGPU \(google swiftshader/);
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await waitForResult(page), 'ready', 'the photo on screen is explained again on the new backend');

  // A second visit keeps the choice.
  const second = await context.newPage();
  await second.goto(`${server.origin}/`);
  await waitReady(second);
  assert.equal(await second.getAttribute('body', 'data-backend'), 'webgpu');
  await second.close();

  await toggle.uncheck();
  await page.waitForFunction(() => document.body.dataset.backend === 'cpu', null, { timeout: 120_000 });
  assert.match(await backend(page), /only a software GPU is available/);
  await context.close();
});
