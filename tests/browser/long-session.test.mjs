// A long session: 50 photos in a row in one page, on WebGPU and on the CPU fallback. After a
// few photos to warm up, memory must stop growing: the wasm heap (it never shrinks, so any
// leak shows), the JS heap (after a forced garbage collection) and, on WebGPU, what burn's
// allocator holds on the device. The figures are printed for the record.
//
// Bounds (the peak after photo 5 minus the figure at photo 5): wasm heap 16 MiB of
// allocator slack, JS heap 4 MiB, GPU bytes in use 1 MiB, GPU bytes reserved 16 MiB.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, dropStaged, launchBrowser, openPage, serveDist, stageFiles, waitForResult, waitReady,
} from './harness.mjs';

const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png', 'grace_hopper.jpg', 'china.jpg'];
const COUNT = Number(process.env.GRADCAM_SESSION_PHOTOS || 50);
const WARM_UP = 5;
const MiB = 1 << 20;
const BOUNDS = { wasm: 16 * MiB, js: 4 * MiB, gpuInUse: MiB, gpuReserved: 16 * MiB };

let server;
let browser;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function memoryAfterGc(page) {
  return page.evaluate(() => {
    window.gc();
    const line = document.querySelector('[data-testid=memory]').dataset;
    const num = (v) => (v === undefined || v === '' ? null : Number(v));
    return {
      wasm: num(line.wasmBytes), gpuInUse: num(line.gpuBytes), gpuReserved: num(line.gpuReserved),
      js: performance.memory.usedJSHeapSize,
    };
  });
}

const mib = (bytes) => (bytes === null ? '—' : (bytes / MiB).toFixed(2));

async function runSession(withoutWebGpu) {
  const { page, context, logs } = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu });
  try {
    await waitReady(page);
    await stageFiles(page, PHOTOS.map((file) => readFileSync(join(FIXTURES, file))));
    const series = [];
    const started = Date.now();
    for (let i = 1; i <= COUNT; i++) {
      const index = (i - 1) % PHOTOS.length;
      const name = `${i}-${PHOTOS[index]}`;
      const type = extname(name) === '.png' ? 'image/png' : 'image/jpeg';
      await dropStaged(page, index, name, type);
      assert.equal(await waitForResult(page), 'ready', `photo ${i}: ${logs.slice(-5).join('\n')}`);
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), name);
      series.push({ photo: i, ...(await memoryAfterGc(page)) });
    }
    const seconds = (Date.now() - started) / 1000;
    const rows = series.filter((r) => r.photo <= WARM_UP || r.photo % 10 === 0 || r.photo === COUNT);
    console.log(`${COUNT} photos on ${withoutWebGpu ? 'the CPU fallback' : 'WebGPU (SwiftShader)'} in ${seconds.toFixed(0)} s; MiB after each:\n`
      + ' photo    wasm   JS heap   GPU in use   GPU reserved\n'
      + rows.map((r) => `${String(r.photo).padStart(6)} ${mib(r.wasm).padStart(7)} ${mib(r.js).padStart(9)} ${mib(r.gpuInUse).padStart(12)} ${mib(r.gpuReserved).padStart(14)}`).join('\n'));
    return series;
  } finally {
    await context.close();
  }
}

function assertBounded(series, key) {
  const warm = series[WARM_UP - 1][key];
  const last = series.at(-1)[key];
  const peak = Math.max(...series.slice(WARM_UP).map((r) => r[key]));
  assert.ok(peak - warm <= BOUNDS[key], `${key} grew from ${mib(warm)} to a peak of ${mib(peak)} MiB (last ${mib(last)})`);
}

describe(`${COUNT} photos in one page`, { timeout: 1_800_000 }, () => {
  test('on the CPU fallback: the wasm heap and the JS heap stop growing after the first few', async () => {
    const series = await runSession(true);
    assertBounded(series, 'wasm');
    assertBounded(series, 'js');
    assert.equal(series.at(-1).gpuInUse, null, 'no GPU figures on the CPU');
  });

  test('on WebGPU: the GPU memory burn holds stops growing too', async () => {
    const series = await runSession(false);
    assert.ok(series.at(-1).gpuInUse > 0, 'the GPU figures are reported');
    for (const key of ['wasm', 'js', 'gpuInUse', 'gpuReserved']) assertBounded(series, key);
  });
});
