// Screenshots of each view for the README (docs/screenshots/): the real page on the CPU
// fallback with EfficientNet-Lite0 and the chelsea photo. Not a test; run after ./dev build:
//   GRADCAM_TEST_WEIGHTS=… node tests/browser/screenshots.mjs [OUT_DIR]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES, ROOT, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const OUT = process.argv[2] || join(ROOT, 'docs/screenshots');
const server = await serveDist();
const browser = await launchBrowser();
try {
  const { page } = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  await page.setViewportSize({ width: 1280, height: 1000 });
  await waitReady(page);
  await dropFile(page, readFileSync(join(FIXTURES, 'chelsea.png')), 'chelsea.png', 'image/png');
  if (await waitForResult(page) !== 'ready') throw new Error(await page.textContent('[data-testid=status]'));
  const settle = (want) => page.waitForFunction((w) => {
    const c = document.querySelector('[data-testid=overlay]');
    const s = c.dataset.settings && JSON.parse(c.dataset.settings);
    return c.dataset.state === 'ready' && s && Object.entries(w).every(([k, v]) => s[k] === v);
  }, want);
  const shot = async (name) => {
    await page.screenshot({ path: join(OUT, `${name}.jpg`), type: 'jpeg', quality: 80, fullPage: true });
    console.log(`${name}: ${await page.textContent('#caption')}`);
  };
  await shot('overlay');
  await page.selectOption('[data-testid=view]', 'side');
  await settle({ view: 'side' });
  await shot('side-by-side');
  await page.selectOption('[data-testid=view]', 'swipe');
  await settle({ view: 'swipe' });
  await page.fill('[data-testid=swipe]', '40');
  await shot('swipe');
  await page.selectOption('[data-testid=view]', 'grid');
  await page.waitForFunction(() => document.querySelector('[data-testid=grid]').dataset.state === 'ready');
  await shot('grid');
  await page.selectOption('[data-testid=view]', 'overlay');
  await page.selectOption('[data-testid=colormap]', 'viridis');
  await page.fill('[data-testid=threshold]', '50');
  await settle({ view: 'overlay', colormap: 'viridis', threshold: 0.5 });
  const box = await page.$eval('[data-testid=overlay]', (c) => c.getBoundingClientRect().toJSON());
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.55);
  await page.waitForFunction(() => document.querySelector('[data-testid=readout]').dataset.value);
  await shot('threshold-hover');
} finally {
  await browser.close();
  server.close();
}
