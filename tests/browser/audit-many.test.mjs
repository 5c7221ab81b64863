// A folder of 500 photos audited in the page (EfficientNet-Lite0, the CPU fallback), picked
// with the folder picker: it stops and resumes where it stopped, and memory stays that of
// the rows — the page keeps each photo's row, small map and thumbnail, never the photo —
// measured as the engine's wasm memory and the page's JS heap (after a forced collection)
// at photo 100 and at photo 500. Logs the throughput.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, assertNoForeignRequests, launchBrowser, openPage, serveDist, waitReady,
} from './harness.mjs';

const PHOTOS = 500;
const DATASET = join(mkdtempSync(join(tmpdir(), 'gradcam-audit-many-')), 'photos');
// Five ImageNet classes, a photo of (or near) each: the folder names the class.
const CLASSES = {
  tabby: 'chelsea.png', pier: 'china.jpg', 'espresso maker': 'coffee.png',
  'military uniform': 'grace_hopper.jpg', 'space shuttle': 'astronaut.png',
};
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`;

let server;
let browser;
let session;
let photoBytes = 0;

before(async () => {
  const names = Object.keys(CLASSES);
  for (const name of names) mkdirSync(join(DATASET, name), { recursive: true });
  for (let i = 0; i < PHOTOS; i++) {
    const cls = names[i % names.length];
    const source = CLASSES[cls];
    const file = join(DATASET, cls, `${String(i).padStart(3, '0')}${source.slice(source.lastIndexOf('.'))}`);
    copyFileSync(join(FIXTURES, source), file);
    photoBytes += statSync(file).size;
  }
  server = await serveDist();
  browser = await launchBrowser(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
  session = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  await waitReady(session.page);
});

after(async () => {
  await browser?.close();
  server?.close();
});

const done = (page) => page.$eval('[data-testid=audit]', (a) => Number(a.dataset.done || 0));

/** The engine's wasm memory and the page's JS heap after a collection, in bytes. */
async function memory(page) {
  const js = await page.evaluate(() => { window.gc(); return performance.memory.usedJSHeapSize; });
  const wasm = Number(await page.getAttribute('[data-testid=memory]', 'data-wasm-bytes'));
  return { js, wasm };
}

describe('a folder of 500 photos', { timeout: 1_800_000 }, () => {
  test('is audited with Stop and Resume, in bounded memory', async () => {
    const { page } = session;
    const started = Date.now();
    await page.setInputFiles('[data-testid=audit-folder]', DATASET);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=audit]').dataset.done || 0) >= 40, null, { timeout: 600_000 });
    await page.click('[data-testid=audit-pause]');
    await page.waitForFunction(() => document.querySelector('[data-testid=audit]').dataset.state === 'stopped', null, { timeout: 60_000 });
    const stoppedAt = await done(page);
    assert.match(await page.textContent('[data-testid=audit-status]'), new RegExp(`^Stopped at ${stoppedAt} of ${PHOTOS} photos`));
    await page.waitForTimeout(1500);
    assert.equal(await done(page), stoppedAt, 'nothing is explained while stopped');
    assert.equal(await page.isVisible('[data-testid=audit-resume]'), true);
    await page.click('[data-testid=audit-resume]');

    await page.waitForFunction(() => Number(document.querySelector('[data-testid=audit]').dataset.done || 0) >= 100, null, { timeout: 600_000 });
    const at100 = await memory(page);
    await page.waitForFunction(() => document.querySelector('[data-testid=audit]').dataset.state === 'done', null, { timeout: 1_500_000 });
    const seconds = (Date.now() - started) / 1000;
    const at500 = await memory(page);
    const status = await page.textContent('[data-testid=audit-status]');
    assert.match(status, new RegExp(`^Audited ${PHOTOS} of ${PHOTOS} photos`));
    assert.equal(await page.$$eval('[data-testid=audit-grid] li', (l) => l.length), PHOTOS);
    const accuracy = await page.textContent('[data-testid=audit-accuracy]');
    assert.match(accuracy, new RegExp(`^Accuracy [\\d.]+%: \\d+ of ${PHOTOS} photos whose folder names a class\\.$`));

    const perPhoto = (at500.js - at100.js) / 400;
    console.log(`${PHOTOS} photos (${MB(photoBytes)} of files) audited on the CPU fallback in ${seconds.toFixed(0)} s with a stop (${(PHOTOS * 60 / seconds).toFixed(1)} photos/min); page says: ${status}`);
    console.log(`memory at photo 100 → 500: engine wasm ${MB(at100.wasm)} → ${MB(at500.wasm)}, page JS heap ${MB(at100.js)} → ${MB(at500.js)} (${(perPhoto / 1024).toFixed(1)} kB per photo; a photo file is ${(photoBytes / PHOTOS / 1024).toFixed(0)} kB on average)`);
    // The engine holds no photo between photos: its memory does not grow with them.
    assert.ok(at500.wasm <= at100.wasm + 16e6, `the engine's memory grew from ${MB(at100.wasm)} to ${MB(at500.wasm)}`);
    // The page keeps rows and maps, not photos: far less per photo than a photo file.
    assert.ok(perPhoto <= 16 * 1024, `the page's heap grew by ${(perPhoto / 1024).toFixed(1)} kB per photo`);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });
});
