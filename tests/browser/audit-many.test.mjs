// The user at full size: a ResNet-50 with 7 classes of their own (a torchvision-named
// state dict and its class names, added in the "Your model" dialog), then a folder of 500
// photos in 7 class folders picked with the folder picker, on the CPU fallback. The audit
// stops and resumes where it stopped; a photo deleted after the folder was picked is listed
// as failed and the rest go on; memory stays that of the rows — the page keeps each
// photo's row, small map and thumbnail, never the photo — measured as the engine's wasm
// memory and the page's JS heap (after a forced collection) at photo 100 and at photo 500;
// the ZIP holds 500 full-size overlays and the CSV's 500 rows. Logs the throughput.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, addOwnModel, assertNoForeignRequests, launchBrowser, openPage, readZip, serveDist, waitReady,
} from './harness.mjs';

const PHOTOS = 500;
const OUT = mkdtempSync(join(tmpdir(), 'gradcam-audit-many-'));
const DATASET = join(OUT, 'parts');
const CHECKPOINT = join(OUT, 'resnet50-parts.pth');
const LABELS = join(OUT, 'parts.txt');
// Seven classes, each folder filled with copies of one fixture photo.
const CLASSES = {
  scratch: 'chelsea.png', dent: 'china.jpg', rust: 'coffee.png', crack: 'grace_hopper.jpg',
  stain: 'astronaut.png', bent: 'china.jpg', ok: 'chelsea.png',
};
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`;

let server;
let browser;
let session;
let photoBytes = 0;
let lastPhoto; // deleted once the folder is picked

before(async () => {
  const names = Object.keys(CLASSES);
  for (const name of names) mkdirSync(join(DATASET, name), { recursive: true });
  for (let i = 0; i < PHOTOS; i++) {
    const cls = names[i % names.length];
    const source = CLASSES[cls];
    const file = join(DATASET, cls, `${String(i).padStart(3, '0')}${source.slice(source.lastIndexOf('.'))}`);
    copyFileSync(join(FIXTURES, source), file);
    photoBytes += statSync(file).size;
    lastPhoto = file;
  }
  writeFileSync(LABELS, `${names.join('\n')}\n`);
  const run = spawnSync(process.env.GRADCAM_BIN, ['init-weights', '--arch', 'resnet50', '--classes', '7', '--pytorch', '--out', CHECKPOINT], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gradcam init-weights failed (is GRADCAM_BIN set?): ${run.stderr}`);
  server = await serveDist();
  browser = await launchBrowser(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
  session = await openPage(browser, server.origin, {
    query: '?model=efficientnet-lite0', withoutWebGpu: true, contextOptions: { acceptDownloads: true },
  });
  const { page } = session;
  await waitReady(page);
  await addOwnModel(page, CHECKPOINT, LABELS);
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

describe('a folder of 500 photos', { timeout: 2_400_000 }, () => {
  test('is audited by a ResNet-50 of 7 classes with Stop and Resume, in bounded memory, and exported', async () => {
    const { page } = session;
    const started = Date.now();
    await page.setInputFiles('[data-testid=audit-folder]', DATASET);
    rmSync(lastPhoto); // gone before the audit reaches it, as when a file is moved meanwhile
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
    const goneName = lastPhoto.slice(DATASET.length + 1);
    const gone = await page.$eval(`[data-testid=audit-grid] button[title="parts/${goneName}"]`, (b) => ({ state: b.parentElement.dataset.state, caption: b.textContent }));
    assert.equal(gone.state, 'failed');
    assert.match(gone.caption, /could not be read/);
    const accuracy = await page.textContent('[data-testid=audit-accuracy]');
    assert.match(accuracy, new RegExp(`^Accuracy [\\d.]+%: \\d+ of ${PHOTOS - 1} photos whose folder names a class\\. 1 could not be explained\\.$`));

    const perPhoto = (at500.js - at100.js) / 400;
    console.log(`${PHOTOS} photos (${MB(photoBytes)} of files) audited by ResNet-50 (7 classes) on the CPU fallback in ${seconds.toFixed(0)} s with a stop (${(PHOTOS * 60 / seconds).toFixed(1)} photos/min); page says: ${status}`);
    console.log(`memory at photo 100 → 500: engine wasm ${MB(at100.wasm)} → ${MB(at500.wasm)}, page JS heap ${MB(at100.js)} → ${MB(at500.js)} (${(perPhoto / 1024).toFixed(1)} kB per photo; a photo file is ${(photoBytes / PHOTOS / 1024).toFixed(0)} kB on average)`);
    // The engine holds no photo between photos: its memory does not grow with them.
    assert.ok(at500.wasm <= at100.wasm + 16e6, `the engine's memory grew from ${MB(at100.wasm)} to ${MB(at500.wasm)}`);
    // The page keeps rows and maps, not photos: far less per photo than a photo file.
    assert.ok(perPhoto <= 16 * 1024, `the page's heap grew by ${(perPhoto / 1024).toFixed(1)} kB per photo`);

    // The export: every overlay at full size and every row, made from the kept maps and the
    // photos read again from their files.
    const exportStarted = Date.now();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 1_200_000 }), page.click('[data-testid=audit-zip]')]);
    const zipPath = join(OUT, 'audit.zip');
    await download.saveAs(zipPath);
    const zip = readZip(readFileSync(zipPath));
    const overlays = Object.keys(zip).filter((n) => n.startsWith('overlays/parts/') && n.endsWith('.png'));
    assert.equal(overlays.length, PHOTOS - 1);
    assert.equal(zip['results.csv'].toString('utf8').trim().split('\n').length, PHOTOS, 'the header and a row per explained photo');
    const afterZip = await memory(page);
    console.log(`ZIP of ${overlays.length} full-size overlays and the CSV: ${MB(statSync(zipPath).size)} in ${((Date.now() - exportStarted) / 1000).toFixed(0)} s; engine wasm ${MB(afterZip.wasm)}, page JS heap ${MB(afterZip.js)} after it`);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });
});
