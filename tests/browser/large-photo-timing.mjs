// The large-photo measurements of issue 18 (item 6), shared by the browser test
// (large-photos.test.mjs, which also checks the pictures) and `./dev bench` (which reports
// them as goals): a phone-sized JPEG made in the page, drops timed against a 640×480 one,
// and class switches and display changes timed from the click to the frame by the page.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, dropFile, waitForResult } from './harness.mjs';

/** chelsea.png scaled to width × height and encoded as a JPEG in the page; saved in `dir`. */
export async function phoneJpeg(page, width, height, dir) {
  const b64 = await page.evaluate(async ({ png, width, height }) => {
    const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))]));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }, { png: readFileSync(join(FIXTURES, 'chelsea.png')).toString('base64'), width, height });
  const path = join(dir, `chelsea-${width}x${height}.jpg`);
  writeFileSync(path, Buffer.from(b64, 'base64'));
  return path;
}

/** Drops the file at `path` as `name` and waits for its heatmap: milliseconds, as seen here. */
export async function dropTimed(page, path, name, type) {
  const bytes = readFileSync(path);
  const started = Date.now();
  await dropFile(page, bytes, name, type);
  const state = await waitForResult(page);
  if (state !== 'ready') throw new Error(`${name}: ${await page.textContent('[data-testid=status]')}`);
  const file = await page.getAttribute('[data-testid=overlay]', 'data-file');
  if (file !== name) throw new Error(`${name} dropped, ${file} shown`);
  return Date.now() - started;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The overlay's size, the photo's, the box it was drawn for (the pane's width and the
 * window's height below it, device pixels), the pane's width and the last frame's timings:
 * `ms` from the click to the frame, `engineMs` in the engine, `renderMs` of that the picture. */
export const shown = (page) => page.evaluate(() => {
  const canvas = document.querySelector('[data-testid=overlay]');
  return {
    canvas: [canvas.width, canvas.height],
    photo: [Number(canvas.dataset.photoWidth), Number(canvas.dataset.photoHeight)],
    box: canvas.dataset.box.split('x').map(Number),
    pane: Math.round(parseFloat(getComputedStyle(canvas.parentElement).width) * devicePixelRatio),
    ms: Number(canvas.dataset.ms),
    engineMs: Number(canvas.dataset.engineMs),
    renderMs: Number(canvas.dataset.renderMs),
    settings: canvas.dataset.settings,
    timings: document.querySelector('[data-testid=timings]').textContent,
  };
});

/** Runs `act` and waits for a new frame showing settings that include `want`. */
export async function frame(page, act, want) {
  const before = (await shown(page)).settings;
  await act();
  await page.waitForFunction(({ before, want }) => {
    const canvas = document.querySelector('[data-testid=overlay]');
    if (canvas.dataset.state !== 'ready' || canvas.dataset.settings === before) return false;
    const s = JSON.parse(canvas.dataset.settings);
    return Object.entries(want).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v));
  }, { before, want }, { timeout: 120_000, polling: 'raf' });
  return shown(page);
}

/** Drops of `small` and `large` (JPEG paths), alternated `rounds` times so that both see the
 * same (shared, busy) machine: `{ small: [ms…], large: [ms…] }`. */
export async function timeDrops(page, small, large, rounds = 3) {
  const times = { small: [], large: [] };
  for (let i = 0; i < rounds; i++) {
    times.small.push(await dropTimed(page, small, `small-${i}.jpg`, 'image/jpeg'));
    times.large.push(await dropTimed(page, large, `large-${i}.jpg`, 'image/jpeg'));
  }
  return times;
}

/** On the photo shown: five class switches at its layer among the top three classes, then
 * five opacity changes, each a frame from `shown`: `{ switches: [...], changes: [...] }`. */
export async function timeRedraws(page) {
  const top = await page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => Number(li.dataset.testid.slice(6))));
  const switches = [];
  for (const cls of [top[1], top[2], top[0], top[1], top[0]]) {
    switches.push(await frame(page, () => page.click(`[data-testid=class-${cls}] button`), { class: cls }));
  }
  const changes = [];
  for (const opacity of [70, 30, 60, 40, 50]) {
    changes.push(await frame(page, () => page.fill('[data-testid=opacity]', String(opacity)), { opacity: opacity / 100 }));
  }
  return { switches, changes };
}
