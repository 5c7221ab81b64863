// Screenshots for the README (docs/screenshots/): the real page on the CPU fallback with
// EfficientNet-Lite0 and the chelsea photo, as the window shows it at a phone's, a laptop's
// and a desktop's size (tests/browser/layout.test.mjs checks those same views): the empty
// page, a result, the grid and the Trust panel; at laptop size also the Trust panel's ROAD
// plot and sanity-check strip, side by side, swipe, a threshold with the hover read-out,
// the dark theme and a folder audit (the fixture photos in ImageNet class folders, wrong
// ones first). Not a test; run after ./dev build:
//   GRADCAM_TEST_WEIGHTS=… node tests/browser/screenshots.mjs [OUT_DIR]

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FIXTURES, ROOT, WINDOWS, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const OUT = process.argv[2] || join(ROOT, 'docs/screenshots');
const server = await serveDist();
const browser = await launchBrowser();

/** The page in a window of `size` (and other context options), the model loaded. */
async function open(size, extra = {}) {
  const { page } = await openPage(browser, server.origin, {
    query: '?model=efficientnet-lite0', withoutWebGpu: true, contextOptions: { ...WINDOWS[size], ...extra },
  });
  await waitReady(page);
  return page;
}

async function explainChelsea(page) {
  await dropFile(page, readFileSync(join(FIXTURES, 'chelsea.png')), 'chelsea.png', 'image/png');
  if (await waitForResult(page) !== 'ready') throw new Error(await page.textContent('[data-testid=status]'));
}

const settle = (page, want) => page.waitForFunction((w) => {
  const c = document.querySelector('[data-testid=overlay]');
  const s = c.dataset.settings && JSON.parse(c.dataset.settings);
  return c.dataset.state === 'ready' && s && Object.entries(w).every(([k, v]) => s[k] === v);
}, want);

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.jpg`), type: 'jpeg', quality: 75 });
  console.log(`${name}: ${await page.textContent('#caption')}`);
}

try {
  for (const size of Object.keys(WINDOWS)) {
    const page = await open(size);
    await shot(page, `empty-${size}`);
    await explainChelsea(page);
    await shot(page, `result-${size}`);
    await page.selectOption('[data-testid=view]', 'grid');
    await page.waitForFunction(() => document.querySelector('[data-testid=grid]').dataset.state === 'ready', null, { timeout: 180_000 });
    await shot(page, `grid-${size}`);
    await page.selectOption('[data-testid=view]', 'overlay');
    await settle(page, { view: 'overlay' });
    await page.click('[data-testid=trust-run]');
    await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state === 'ready', null, { timeout: 300_000 });
    await page.locator('[data-testid=trust]').evaluate((e) => e.scrollIntoView());
    await shot(page, `trust-${size}`);
    if (size === 'laptop') {
      // ROAD per percentile and the sanity-check strip.
      await page.check('[data-testid=trust-road]');
      await page.check('[data-testid=trust-sanity]');
      await page.click('[data-testid=trust-run]');
      await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state === 'working', null, { timeout: 10_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state === 'ready', null, { timeout: 300_000 });
      await page.locator('[data-testid=trust-road-plot]').evaluate((e) => e.scrollIntoView());
      await shot(page, 'trust-road-sanity');
      await page.uncheck('[data-testid=trust-road]');
      await page.uncheck('[data-testid=trust-sanity]');
    }
    if (size === 'laptop') {
      await page.evaluate(() => scrollTo(0, 0));
      await page.selectOption('[data-testid=view]', 'side');
      await settle(page, { view: 'side' });
      await shot(page, 'side-by-side');
      await page.selectOption('[data-testid=view]', 'swipe');
      await settle(page, { view: 'swipe' });
      await page.fill('[data-testid=swipe]', '40');
      await shot(page, 'swipe');
      await page.selectOption('[data-testid=view]', 'overlay');
      await page.selectOption('[data-testid=colormap]', 'viridis');
      await page.fill('[data-testid=threshold]', '50');
      await settle(page, { view: 'overlay', colormap: 'viridis', threshold: 0.5 });
      const box = await page.$eval('[data-testid=overlay]', (c) => c.getBoundingClientRect().toJSON());
      await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.55);
      await page.waitForFunction(() => document.querySelector('[data-testid=readout]').dataset.value);
      await shot(page, 'threshold-hover');
    }
    await page.context().close();
  }
  const dark = await open('laptop', { colorScheme: 'dark' });
  await explainChelsea(dark);
  await shot(dark, 'dark');

  const folder = join(mkdtempSync(join(tmpdir(), 'gradcam-shots-')), 'photos');
  const classes = { tabby: ['chelsea.png', 'coffee.png'], pier: ['china.jpg'], 'military uniform': ['grace_hopper.jpg', 'astronaut.png'], 'space shuttle': ['astronaut.png'] };
  for (const [cls, photos] of Object.entries(classes)) {
    mkdirSync(join(folder, cls), { recursive: true });
    for (const photo of photos) copyFileSync(join(FIXTURES, photo), join(folder, cls, photo));
  }
  const audit = await open('laptop');
  await audit.setInputFiles('[data-testid=audit-folder]', folder);
  await audit.waitForFunction(() => document.querySelector('[data-testid=audit]').dataset.state === 'done', null, { timeout: 300_000 });
  await audit.selectOption('[data-testid=audit-sort]', 'expected');
  await audit.locator('[data-testid=audit]').evaluate((e) => e.scrollIntoView());
  await shot(audit, 'audit-laptop');
} finally {
  await browser.close();
  server.close();
}
