// The explorer, driven through the real page's controls in headless Chromium: class
// switching and search, contrast, method and layer, opacity, colour maps, normalisation,
// threshold, the four views, hover read-out, every export, the URL fragment, paste, the
// sample gallery, the strip of several photos, progress, keyboard use, a narrow window and
// offline use. Results are checked from canvas pixels and downloaded files against the
// native engine (same weights, same photo).
//
// EfficientNet-Lite0 (trained) on the CPU fallback keeps each explanation well under a
// second; WebGPU and ResNet-101 are covered by page.test.mjs (and its long-task checks).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  FIXTURES, WEIGHTS_DIR, assertCanvasMatchesNative, assertNoForeignRequests, assertSameHeatmap, assertVaries, canvasPixels, compareImages,
  cspViolations, dropFile, launchBrowser, nativeOverlay, openPage, parseNpy, serveDist, waitForResult, waitForSettings, waitReady,
} from './harness.mjs';

const MODEL = 'efficientnet-lite0';
const WEIGHTS = join(WEIGHTS_DIR, `${MODEL}.bpk`);
const PHOTO = join(FIXTURES, 'chelsea.png');
const OUT = mkdtempSync(join(tmpdir(), 'gradcam-explorer-'));

let server;
let browser;
let session;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, {
    query: `?model=${MODEL}`,
    withoutWebGpu: true,
    contextOptions: { acceptDownloads: true, permissions: ['clipboard-read', 'clipboard-write'] },
  });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

const overlayData = (page, key) => page.getAttribute('[data-testid=overlay]', `data-${key}`);

async function chooseClass(page, selector, text) {
  await page.fill(selector, text);
  await page.press(selector, 'Tab');
}

async function saved(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testid}]`)]);
  const path = join(OUT, download.suggestedFilename());
  await download.saveAs(path);
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

/** Bilinear, half-pixel centres (the engine's upsampling), written out for the check. */
function bilinearAt(map, [h, w], [width, height], x, y) {
  const axis = (i, src, dst) => {
    const p = Math.max(0, (i + 0.5) * (src / dst) - 0.5);
    const lo = Math.min(Math.floor(p), src - 1);
    return [lo, Math.min(lo + 1, src - 1), p - lo];
  };
  const [y0, y1, fy] = axis(y, h, height);
  const [x0, x1, fx] = axis(x, w, width);
  const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
  const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/** What show_cam_on_image makes of a picture with photo weight 1: each colour byte divided
 * by the brightest one in float32, times 255, truncated. */
function stretchedByBrightest({ width, height, data }) {
  const f = Math.fround;
  const colour = (i) => i % 4 !== 3;
  let brightest = 0;
  for (let i = 0; i < data.length; i++) if (colour(i)) brightest = Math.max(brightest, f(data[i] / 255));
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) if (colour(i)) out[i] = Math.trunc(f(f(f(data[i] / 255) / brightest) * 255));
  return { width, height, data: out };
}

describe('the explorer (EfficientNet-Lite0, CPU fallback)', { timeout: 900_000 }, () => {
  test('progress shows every stage with its time, and the backend and timings are shown', async () => {
    const { page } = session;
    const stages = await page.$$eval('[data-testid=progress] li[data-stage]', (lis) => lis.map((li) => [li.dataset.stage, li.dataset.state, li.textContent]));
    console.log(`progress: ${stages.map((s) => s[2]).join(' | ')}`);
    for (const [stage, state, text] of stages) {
      assert.equal(state, 'done', `${stage}: ${text}`);
      assert.match(text, /\d+ ms$/);
    }
    assert.match(await page.textContent('[data-testid=timings]'), /decode \d+ ms · preprocess \d+ ms · .*forward \d+ ms.* on CPU/);
    assert.match(await page.textContent('[data-testid=backend]'), /Backend: CPU/);
  });

  test('clicking a class in the top-5 switches the map without a new pass, and it matches the engine', async () => {
    const { page } = session;
    const top = await page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => Number(li.dataset.testid.slice(6))));
    await page.click(`[data-testid=class-${top[1]}] button`);
    await waitForSettings(page, { class: top[1] });
    const ms = Number(await overlayData(page, 'ms'));
    console.log(`class switch, click → drawn frame (CPU fallback, EfficientNet-Lite0): ${ms} ms`);
    assert.match(await page.textContent('[data-testid=timings]'), /map from cached activations/);
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, top[1]), `class ${top[1]}`);
  });

  test('typing a class name in the search box explains that class', async () => {
    const { page } = session;
    await chooseClass(page, '[data-testid=class-search]', 'tabby');
    await waitForSettings(page, { class: 281 });
    assert.equal(await page.inputValue('[data-testid=class-search]'), 'tabby (281)');
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, 281), 'searched class 281');
  });

  test('"why A rather than B" explains the contrast of two classes', async () => {
    const { page } = session;
    await chooseClass(page, '[data-testid=other-search]', 'Egyptian cat (285)');
    await waitForSettings(page, { class: 281, other: 285 });
    assert.match(await page.textContent('#caption'), /“tabby” rather than “Egyptian cat”/);
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, null, ['--contrast', '281,285']), 'contrast 281 − 285');
    await chooseClass(page, '[data-testid=other-search]', '');
    await waitForSettings(page, { class: 281, other: null });
  });

  test('method and layer controls recompute the map for that method at that layer', async () => {
    const { page } = session;
    // The picker lists the engine's catalogue: every method by its paper's name, with help.
    const methods = await page.$$eval('[data-testid=method] option', (os) => os.map((o) => [o.value, o.textContent, o.title]));
    assert.equal(methods.length, 11);
    assert.deepEqual(methods.slice(0, 3).map(([value, text]) => [value, text]),
      [['gradcam', 'Grad-CAM'], ['hirescam', 'HiResCAM'], ['gradcam++', 'Grad-CAM++']]);
    assert.ok(methods.every(([, , help]) => help.length > 20), JSON.stringify(methods));
    // A pixel-space method has no layer (the catalogue says so, not the page).
    await page.selectOption('[data-testid=method]', 'saliency');
    await waitForSettings(page, { method: 'saliency' });
    assert.equal(await page.$eval('[data-testid=layer]', (el) => el.disabled), true);
    assert.equal(await page.textContent('[data-testid=layer-out]'), 'input pixels');
    await page.selectOption('[data-testid=method]', 'layercam');
    await waitForSettings(page, { method: 'layercam' });
    const layers = await page.$eval('[data-testid=layer]', (el) => Number(el.max) + 1);
    assert.ok(layers > 10, `a scrubber over every block (${layers} layers)`);
    // Scrub back with the keyboard until layer3 (the stage output) is chosen.
    await page.focus('[data-testid=layer]');
    for (let i = 0; i < layers; i++) {
      if ((await page.textContent('[data-testid=layer-out]')).startsWith('layer3 ')) break;
      await page.keyboard.press('ArrowLeft');
      if ((await page.textContent('[data-testid=layer-out]')).split(' ')[0] === 'layer3') break;
    }
    await waitForSettings(page, { method: 'layercam', layer: 'layer3' });
    assert.match(await page.textContent('[data-testid=layer-out]'), /^layer3 · 14×14 map$/);
    assert.equal(await overlayData(page, 'layer'), 'layer3');
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, 281, ['--method', 'layercam', '--layer', 'layer3']), 'layercam at layer3');
    await page.selectOption('[data-testid=method]', 'gradcam');
    await page.fill('[data-testid=layer]', await page.$eval('[data-testid=layer]', (el) => el.max));
    await waitForSettings(page, { method: 'gradcam', layer: 'layer4' });
  });

  test('opacity, colour map and threshold redraw from the cached map, outline the hot region and box it', async () => {
    const { page } = session;
    await page.fill('[data-testid=opacity]', '80');
    await page.selectOption('[data-testid=colormap]', 'viridis');
    await page.fill('[data-testid=threshold]', '50');
    await waitForSettings(page, { colormap: 'viridis', opacity: 0.8, threshold: 0.5 });
    const expected = nativeOverlay(PHOTO, WEIGHTS, 281, ['--opacity', '0.8', '--colormap', 'viridis', '--threshold', '0.5']);
    await assertCanvasMatchesNative(page, expected, 'viridis, 80 % opacity, threshold 50 %');
    const box = JSON.parse(await page.getAttribute('[data-testid=hot-box]', 'data-box'));
    assert.ok(box.width > 10 && box.height > 10, JSON.stringify(box));
    assert.match(await page.textContent('[data-testid=hot-box]'), /Hot region \(≥ 50% of the range\)/);
    const legend = await canvasPixels(page, '#colorbar');
    assert.deepEqual([...legend.data.subarray(0, 3)], [68, 1, 84], 'the legend starts at viridis(0)');
    for (const [colormap, want] of [['turbo', [48, 18, 59]], ['inferno', [0, 0, 4]], ['grey', [0, 0, 0]], ['jet', [0, 0, 128]]]) {
      await page.selectOption('[data-testid=colormap]', colormap);
      await waitForSettings(page, { colormap });
      const bar = await canvasPixels(page, '#colorbar');
      assert.deepEqual([...bar.data.subarray(0, 3)], want, `${colormap} legend`);
    }
    await page.fill('[data-testid=threshold]', '0');
    await page.fill('[data-testid=opacity]', '50');
    await waitForSettings(page, { colormap: 'jet', opacity: 0.5, threshold: undefined });
    assert.equal(await page.isHidden('[data-testid=hot-box]'), true);
  });

  test('absolute normalisation uses a fixed range, shown on the colour bar', async () => {
    const { page } = session;
    await page.click('[data-testid=show-more] summary'); // folded away: rarely used
    await page.selectOption('[data-testid=scale]', 'absolute');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=scale-max]').value) > 0);
    const top = Number(await page.inputValue('[data-testid=scale-max]'));
    await page.fill('[data-testid=scale-max]', String(2 * top));
    await page.press('[data-testid=scale-max]', 'Tab');
    await waitForSettings(page, { scale: 'absolute', max: 2 * top });
    assert.equal(await page.isVisible('[data-testid=legend]'), true);
    assert.match(await page.textContent('[data-testid=legend-range]'), /fixed 0–/);
    const expected = nativeOverlay(PHOTO, WEIGHTS, 281, ['--absolute-max', String(2 * top)]);
    await assertCanvasMatchesNative(page, expected, `absolute scale 0–${2 * top}`);
    await page.selectOption('[data-testid=scale]', 'minmax');
    await waitForSettings(page, { scale: 'minmax' });
  });

  test('side-by-side and swipe views show photo, heatmap and overlay', async () => {
    const { page } = session;
    await page.selectOption('[data-testid=view]', 'side');
    await waitForSettings(page, { view: 'side' });
    // Three panes are narrower than the photo (451 px): each is drawn at its pane's size,
    // as the native engine draws it for that box (photo weight 1: the photo; 0: the colours).
    const photo = await canvasPixels(page, '[data-testid=photo-canvas]');
    const pane = ['--display-box', String(photo.width)];
    assert.ok(photo.width < 451 && photo.width > 100, `the photo pane is ${photo.width} px wide`);
    const shownPhoto = nativeOverlay(PHOTO, WEIGHTS, 281, ['--opacity', '0', ...pane]).pixels;
    assertVaries(photo, 'the photo pane');
    // Photo weight 1 is show_cam_on_image's picture of the photo alone: stretched by its
    // brightest byte. The pane shows the photo as it is.
    assert.ok(compareImages(stretchedByBrightest(photo), shownPhoto).max <= 1, 'the photo pane is the photo at the pane\'s size');
    const heat = await canvasPixels(page, '[data-testid=heatmap-canvas]');
    assertVaries(heat, 'the heatmap pane');
    assert.ok(compareImages(heat, shownPhoto).meanAbs > 30, 'the heatmap pane is not the photo');
    assertSameHeatmap(heat, nativeOverlay(PHOTO, WEIGHTS, 281, ['--opacity', '1', ...pane]), 'heatmap pane');
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, 281, pane), 'overlay pane');
    const boxes = await page.$$eval('#views .pane canvas', (cs) => cs.map((c) => c.getBoundingClientRect().toJSON()));
    assert.ok(boxes[0].x < boxes[1].x && boxes[1].x < boxes[2].x, 'three panes side by side');

    await page.selectOption('[data-testid=view]', 'swipe');
    await waitForSettings(page, { view: 'swipe' });
    const [under, over] = await page.$$eval(['[data-testid=photo-canvas]', '[data-testid=overlay]'].join(','),
      (cs) => cs.map((c) => c.getBoundingClientRect().toJSON()));
    assert.deepEqual([under.x, under.y], [over.x, over.y], 'overlay stacked on the photo');
    await page.fill('[data-testid=swipe]', '25');
    const clip = await page.$eval('.pane[data-pane=overlay]', (el) => getComputedStyle(el).clipPath);
    assert.match(clip, /inset\(0px 75%/);
    await page.selectOption('[data-testid=view]', 'overlay');
    await waitForSettings(page, { view: 'overlay' });
  });

  test('the grid compares methods (and layers) on the same photo and class', async () => {
    const { page } = session;
    await page.selectOption('[data-testid=view]', 'grid');
    await page.waitForFunction(() => document.querySelector('[data-testid=grid]').dataset.state === 'ready', null, { timeout: 120_000 });
    const cells = await page.$$eval('[data-testid=grid] figure', (fs) => fs.map((f) => [f.dataset.cell, f.dataset.state, f.querySelector('figcaption').textContent]));
    console.log(`grid: ${cells.map((c) => c[2]).join(' | ')}`);
    // The catalogue's single-pass methods (Score-CAM, Ablation-CAM and SmoothGrad are not).
    assert.deepEqual(cells.map((c) => c[0]), ['gradcam', 'hirescam', 'gradcam++', 'xgradcam', 'layercam', 'eigencam', 'eigengradcam', 'saliency']);
    assert.ok(cells.every((c) => c[1] === 'ready'), JSON.stringify(cells));
    // Cells are drawn at their own size (narrower than the photo), as the native engine
    // draws that box.
    const cell = (method) => `[data-testid=grid] figure[data-cell="${method}"] canvas`;
    const width = await page.$eval(cell('gradcam'), (c) => c.width);
    const box = ['--display-box', String(width)];
    assert.ok(width < 451, `a grid cell is ${width} px wide`);
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, 281, box), 'grid cell gradcam', cell('gradcam'));
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, 281, ['--method', 'layercam', ...box]), 'grid cell layercam', cell('layercam'));
    await page.selectOption('[data-testid=grid-of]', 'layers');
    await page.waitForFunction(() => {
      const grid = document.querySelector('[data-testid=grid]');
      return grid.dataset.state === 'ready' && grid.querySelector('figure[data-cell="stem"]');
    }, null, { timeout: 120_000 });
    assert.equal(await page.$$eval('[data-testid=grid] figure', (fs) => fs.length), 5);
    await page.selectOption('[data-testid=view]', 'overlay');
    await waitForSettings(page, { view: 'overlay' });
  });

  test('downloads: overlay PNG equals the canvas, map as 16-bit PNG and .npy, settings JSON; hover reads the map', async () => {
    const { page } = session;
    const canvas = await canvasPixels(page);
    assertVaries(canvas, 'the overlay');
    const png = await saved(page, 'save-png');
    assert.match(png.name, /^chelsea-gradcam-layer4-281\.png$/);
    const image = PNG.sync.read(png.bytes);
    assert.deepEqual([image.width, image.height], [451, 300], 'at the photo\'s resolution');
    assert.equal(compareImages(image, canvas).max, 0, 'the PNG is the canvas');

    const png16 = PNG.sync.read((await saved(page, 'save-png16')).bytes, { skipRescale: true });
    assert.equal(png16.depth, 16);
    assert.deepEqual([png16.width, png16.height], [451, 300]);

    const npy = parseNpy((await saved(page, 'save-npy')).bytes);
    assert.deepEqual(npy.shape, [7, 7]);
    const nativeNpy = join(OUT, 'native.npy');
    nativeOverlay(PHOTO, WEIGHTS, 281, ['--cam-out', nativeNpy]);
    const expected = parseNpy(readFileSync(nativeNpy));
    const scale = Math.max(...expected.data);
    const worst = Math.max(...npy.data.map((v, i) => Math.abs(v - expected.data[i])));
    assert.ok(worst <= 1e-4 * scale, `raw map differs from the native one by ${worst}`);

    const json = JSON.parse((await saved(page, 'save-json')).bytes.toString('utf8'));
    assert.equal(json.explained.class, 281);
    assert.equal(json.model, MODEL);
    assert.equal(json.top5.length, 5);
    assert.equal(json.settings.method, 'gradcam');

    // Hover: the read-out equals the downloaded map, upsampled at that pixel.
    const box = await page.$eval('[data-testid=overlay]', (c) => c.getBoundingClientRect().toJSON());
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await page.waitForFunction(() => document.querySelector('[data-testid=readout]').dataset.value);
    const [x, y, value] = await page.$eval('[data-testid=readout]', (r) => [Number(r.dataset.x), Number(r.dataset.y), Number(r.dataset.value)]);
    const want = bilinearAt(npy.data, npy.shape, [451, 300], x, y);
    assert.ok(Math.abs(value - want) <= 1e-5 * Math.max(1, Math.abs(want)), `hover (${x}, ${y}): ${value} vs ${want}`);
    // The share of the colour scale is the engine's (a number, not NaN from a missing field).
    assert.match(await page.textContent('[data-testid=readout]'), /map value \S+ \((\d+)% of the colour scale\)$/);
  });

  test('copy puts the overlay PNG on the clipboard', async () => {
    const { page } = session;
    await page.click('[data-testid=copy]');
    await page.waitForFunction(() => /Copied the overlay|Could not copy/.test(document.getElementById('status').textContent));
    assert.match(await page.textContent('[data-testid=status]'), /Copied the overlay \(451×300\)/);
    const b64 = await page.evaluate(async () => {
      const [item] = await navigator.clipboard.read();
      const bytes = new Uint8Array(await (await item.getType('image/png')).arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    });
    const copied = PNG.sync.read(Buffer.from(b64, 'base64'));
    assertVaries(copied, 'the copied overlay');
    assert.equal(compareImages(copied, await canvasPixels(page)).max, 0);
  });

  test('the URL fragment restores the same view after a reload', async () => {
    const { page, context } = session;
    await page.selectOption('[data-testid=method]', 'gradcam++');
    await page.selectOption('[data-testid=colormap]', 'turbo');
    await page.fill('[data-testid=opacity]', '65');
    await waitForSettings(page, { method: 'gradcam++', colormap: 'turbo', opacity: 0.65, class: 281 });
    const before = await canvasPixels(page);
    assertVaries(before, 'the overlay before the reload');
    const url = page.url();
    assert.match(url, /#model=efficientnet-lite0&method=gradcam%2B%2B&class=281&cmap=turbo&opacity=65/);
    const again = await openPage(browser, server.origin, { context, query: url.slice(server.origin.length + 1) });
    try {
      await waitReady(again.page);
      assert.equal(await again.page.inputValue('[data-testid=method]'), 'gradcam++');
      assert.equal(await again.page.inputValue('[data-testid=colormap]'), 'turbo');
      assert.equal(await again.page.inputValue('[data-testid=class-search]'), 'tabby (281)');
      await dropFile(again.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
      assert.equal(await waitForResult(again.page), 'ready');
      assert.equal(compareImages(await canvasPixels(again.page), before).max, 0, 'the same picture');
    } finally {
      await again.page.close();
    }
    await page.selectOption('[data-testid=method]', 'gradcam');
    await page.selectOption('[data-testid=colormap]', 'jet');
    await page.fill('[data-testid=opacity]', '50');
    await waitForSettings(page, { method: 'gradcam', colormap: 'jet', opacity: 0.5 });
  });

  test('paste, the sample gallery and a drop of several photos (the strip switches between them)', async () => {
    const { page } = session;
    await page.evaluate((b64) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], 'coffee.png', { type: 'image/png' }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
    }, readFileSync(join(FIXTURES, 'coffee.png')).toString('base64'));
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'coffee.png', null, { timeout: 120_000 });
    assert.deepEqual(await canvasPixels(page).then((p) => [p.width, p.height]), [600, 400]);

    await page.click('[data-testid="sample-grace_hopper.jpg"]');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'grace_hopper.jpg', null, { timeout: 120_000 });

    await page.evaluate(({ a, b }) => {
      const transfer = new DataTransfer();
      for (const [b64, name] of [[a, 'first.png'], [b, 'second.jpg']]) {
        transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
      }
      document.querySelector('main').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }));
    }, { a: readFileSync(PHOTO).toString('base64'), b: readFileSync(join(FIXTURES, 'china.jpg')).toString('base64') });
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'first.png', null, { timeout: 120_000 });
    const names = await page.$$eval('[data-testid=strip] button', (bs) => bs.map((b) => b.title));
    assert.deepEqual(names, ['chelsea.png', 'coffee.png', 'grace_hopper.jpg', 'first.png', 'second.jpg']);
    await page.click('[data-testid=strip-4]');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'second.jpg', null, { timeout: 120_000 });
    assert.deepEqual(await canvasPixels(page).then((p) => [p.width, p.height]), [640, 427]);
  });

  test('a newer photo supersedes one still being explained', async () => {
    const { page } = session;
    const states = page.evaluate(() => new Promise((resolve) => {
      const canvas = document.querySelector('[data-testid=overlay]');
      const seen = [];
      new MutationObserver(() => {
        seen.push(`${canvas.dataset.state}:${canvas.dataset.file || ''}`);
        if (canvas.dataset.state === 'ready') resolve(seen);
      }).observe(canvas, { attributes: true, attributeFilter: ['data-state', 'data-file'] });
    }));
    await dropFile(page, readFileSync(join(FIXTURES, 'coffee.png')), 'old.png', 'image/png');
    await dropFile(page, readFileSync(PHOTO), 'new.png', 'image/png');
    const seen = await states;
    assert.ok(seen.at(-1) === 'ready:new.png', seen.join(' '));
    assert.ok(!seen.includes('ready:old.png'), seen.join(' '));
  });

  test('a slow method can be stopped, and a newer setting cancels it at once', async () => {
    const { page } = session;
    const cls = Number(await overlayData(page, 'class'));
    // Score-CAM at layer4 masks the input by each of 1280 channels: minutes on this CPU.
    await page.selectOption('[data-testid=method]', 'scorecam');
    await page.waitForSelector('[data-testid=stop]', { state: 'visible', timeout: 60_000 });
    const started = Date.now();
    await page.selectOption('[data-testid=method]', 'gradcam');
    await waitForSettings(page, { method: 'gradcam', class: cls });
    console.log(`a newer setting cancelled Score-CAM: Grad-CAM drawn ${Date.now() - started} ms later (engine restarted)`);
    assert.equal(await page.getAttribute('body', 'data-engine-cancels'), '1');
    await assertCanvasMatchesNative(page, nativeOverlay(PHOTO, WEIGHTS, cls), 'Grad-CAM after the cancel');

    await page.selectOption('[data-testid=method]', 'scorecam');
    await page.waitForSelector('[data-testid=stop]', { state: 'visible', timeout: 60_000 });
    await page.click('[data-testid=stop]');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.state === 'stopped'
      && document.getElementById('status').textContent.startsWith('Stopped:'), null, { timeout: 60_000 });
    assert.equal(await page.$$eval('[data-testid=top5] li', (l) => l.length), 0, 'nothing stale is shown');
    await page.selectOption('[data-testid=method]', 'gradcam');
    await waitForSettings(page, { method: 'gradcam', class: cls });
    assert.equal(await page.getAttribute('body', 'data-engine-cancels'), '2');
  });

  test('keyboard: every control is labelled and the top-5 works from the keyboard', async () => {
    const { page } = session;
    const unlabelled = await page.$$eval('main input, main select, main button', (els) => els
      .filter((el) => el.type !== 'file' && !el.closest('[hidden]'))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim() && !el.title)
      .map((el) => el.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, []);
    const second = await page.$$eval('[data-testid=top5] li', (lis) => Number(lis[1].dataset.testid.slice(6)));
    await page.focus(`[data-testid=class-${second}] button`);
    await page.keyboard.press('Enter');
    await waitForSettings(page, { class: second });
  });

  test('a narrow window keeps everything on screen without sideways scrolling', async () => {
    const { page } = session;
    await page.setViewportSize({ width: 380, height: 800 });
    try {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the window`);
      const canvas = await page.$eval('[data-testid=overlay]', (c) => c.getBoundingClientRect().width);
      assert.ok(canvas <= 380, `canvas ${canvas} px wide`);
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  test('after the first visit the app works offline (service worker + cached weights)', async () => {
    const { page, context } = session;
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await context.setOffline(true);
    const offline = await openPage(browser, server.origin, { context, query: `?model=${MODEL}` });
    try {
      await waitReady(offline.page);
      assert.equal(await offline.page.getAttribute('body', 'data-weights-source'), 'cache');
      await dropFile(offline.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
      assert.equal(await waitForResult(offline.page), 'ready', await offline.page.textContent('[data-testid=status]'));
    } finally {
      await context.setOffline(false);
      await offline.page.close();
    }
  });

  test('nothing left the machine (page, workers, service worker, server log) and no security policy was violated', async () => {
    assertNoForeignRequests(session);
    assert.deepEqual(await cspViolations(session.page), []);
  });
});
