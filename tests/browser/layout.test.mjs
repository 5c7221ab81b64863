// The page as people see it, at a phone's, a laptop's and a desktop's window size: the
// empty state, a result, the grid and the Trust panel each pass axe-core with no violation,
// nothing overflows sideways, the picture fits the window and no two texts overlap. Also
// the dark theme, the keyboard shortcuts and their help, zoom and pan (the read-out follows
// the pointer at any zoom), and the drop zone lighting up while files are dragged over.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  FIXTURES, WINDOWS, dropFile, faults, launchBrowser, openPage, serveDist, waitForResult, waitForSettings, waitReady,
} from './harness.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const PHOTO = join(FIXTURES, 'chelsea.png');

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

/** A page at `size` on the CPU fallback with axe-core injected (as an init script: the
 * page's CSP is untouched, and axe makes no request). */
async function open(size, extra = {}) {
  const session = await openPage(browser, server.origin, {
    query: '?model=efficientnet-lite0',
    withoutWebGpu: true,
    initScripts: [{ path: AXE }],
    contextOptions: { ...WINDOWS[size], ...extra },
  });
  await waitReady(session.page);
  return session;
}

describe('first use', () => {
  // The weights arrive over 3 s (a slow network), so the page is caught loading.
  const WEIGHTS = '/weights/efficientnet-lite0.bpk';
  const PACE_MS = 3000;

  test('the page paints at once, takes a photo before the model is in, and compiles the wasm while the weights stream', async () => {
    server.override(WEIGHTS, faults.paced(PACE_MS));
    const { page, context } = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
    try {
      await page.waitForSelector('[data-testid=dropzone]');
      await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
      assert.notEqual(await page.getAttribute('body', 'data-ready'), 'true', 'dropped while the model loads');
      assert.match(await page.textContent('[data-testid=caption]'), /chelsea\.png will be explained once the model is loaded/);
      assert.match(await page.textContent('[data-testid=status]'), /Downloading EfficientNet-Lite0|Looking for/);
      assert.equal(await waitForResult(page), 'ready', 'the queued photo is explained once the model is in');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'chelsea.png');
      const at = await page.evaluate(() => {
        const time = (name) => performance.getEntriesByName(name)[0]?.startTime;
        return {
          firstPaint: time('first-contentful-paint'),
          engine: time('gradcam:engine-ready'),
          weightsStart: time('gradcam:weights-start'),
          weightsEnd: time('gradcam:weights-end'),
          ready: time('gradcam:model-ready'),
        };
      });
      console.log(`first use: ${Object.entries(at).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}`);
      // The goal is 300 ms (≈ 150–210 ms here when idle); 450 leaves room for a loaded CI machine.
      assert.ok(at.firstPaint <= 450, `first contentful paint at ${at.firstPaint} ms (goal ≤ 300 ms)`);
      // Both start at once: the download does not wait for the wasm, nor the wasm for the download.
      assert.ok(at.weightsStart < at.engine && at.engine < at.weightsEnd, JSON.stringify(at));
      assert.ok(at.weightsEnd >= PACE_MS * 0.9 && at.ready >= at.weightsEnd, JSON.stringify(at));
    } finally {
      server.restore(WEIGHTS);
      await context.close();
    }
  });
});

/** axe-core's violations on the page as it is, as readable lines. */
async function axeViolations(page) {
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
    .map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })));
  return violations.map((v) => `${v.id} (${v.help}): ${v.nodes.join(', ')}`);
}

/** What the eye checks: sideways overflow, the picture's box against the window, and any
 * two visible texts whose boxes overlap (each text's own line boxes, so a label and its
 * control are two texts). */
function layoutProblems() {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) problems.push(`the page is ${doc.scrollWidth - doc.clientWidth} px wider than the window`);
  const canvas = document.querySelector('[data-testid=overlay]');
  if (canvas.checkVisibility()) {
    const r = canvas.getBoundingClientRect();
    const bottom = r.bottom + scrollY;
    if (r.left < 0 || r.right > doc.clientWidth) problems.push(`the picture spans x ${r.left}–${r.right}`);
    if (bottom > doc.clientHeight + 1) problems.push(`the picture ends at y ${bottom}, below the window's ${doc.clientHeight}`);
  }
  // A text's boxes as shown: cut by every ancestor that clips (an ellipsis, a scroller).
  const clipped = (el, r) => {
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const c = e.getBoundingClientRect();
      [left, top, right, bottom] = [Math.max(left, c.left), Math.max(top, c.top), Math.min(right, c.right), Math.min(bottom, c.bottom)];
    }
    return { left, top, right, bottom, width: right - left, height: bottom - top };
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.textContent.trim() && n.parentElement.checkVisibility({ visibilityProperty: true })
      && !n.parentElement.closest('svg, dialog:not([open]), #drop-hint') ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const line of range.getClientRects()) {
      const r = clipped(n.parentElement, line);
      if (r.width > 1 && r.height > 1) texts.push({ node: n, r, what: `“${n.textContent.trim().slice(0, 30)}”` });
    }
  }
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const [a, b] = [texts[i], texts[j]];
      if (a.node === b.node) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) problems.push(`${a.what} overlaps ${b.what}`);
    }
  }
  return problems;
}

async function check(page, size, view) {
  assert.deepEqual(await page.evaluate(layoutProblems), [], `${view} at ${size}: layout`);
  assert.deepEqual(await axeViolations(page), [], `${view} at ${size}: axe-core`);
}

for (const size of Object.keys(WINDOWS)) {
  describe(`the page at ${size} size (${WINDOWS[size].viewport.width}×${WINDOWS[size].viewport.height})`, () => {
    test('empty, result, grid and Trust panel: accessible, no overflow, the picture fits, no text overlaps', async () => {
      const { page, context } = await open(size);
      try {
        assert.equal(await page.isVisible('[data-testid=dropzone]'), true);
        assert.equal(await page.isVisible('[data-testid="sample-chelsea.jpg"]'), true, 'the samples are in the empty drop zone');
        assert.equal(await page.isVisible('[data-testid=overlay]'), false, 'no empty canvas before a photo');
        await check(page, size, 'empty');

        await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
        assert.equal(await waitForResult(page), 'ready');
        const fitted = await page.$eval('[data-testid=overlay]', (c) => {
          const r = c.getBoundingClientRect();
          const pane = c.parentElement.getBoundingClientRect();
          return { width: r.width, height: r.height, pane: pane.width, room: document.documentElement.clientHeight - r.top };
        });
        // A 451×300 photo fills its place: as wide as the pane or as tall as the window allows.
        assert.ok(fitted.width >= fitted.pane - 1 || fitted.height >= fitted.room - 100,
          `the picture is ${fitted.width}×${fitted.height} in a ${fitted.pane} px pane`);
        await check(page, size, 'result');

        await page.selectOption('[data-testid=view]', 'grid');
        await page.waitForFunction(() => document.querySelector('[data-testid=grid]').dataset.state === 'ready', null, { timeout: 180_000 });
        // The grid hides the overlay, not its meaning: the caption and status still describe the map.
        assert.match(await page.textContent('[data-testid=caption]'), /dark red marks the strongest/);
        assert.match(await page.textContent('[data-testid=status]'), /warm colours mark where/);
        await check(page, size, 'grid');
        await page.selectOption('[data-testid=view]', 'overlay');
        await waitForSettings(page, { view: 'overlay' });

        await page.selectOption('[data-testid=trust-steps]', '8');
        await page.uncheck('[data-testid=trust-baselines]');
        await page.click('[data-testid=trust-run]');
        await page.waitForFunction(() => document.querySelector('[data-testid=trust]').dataset.state === 'ready', null, { timeout: 180_000 });
        await page.locator('[data-testid=trust]').scrollIntoViewIfNeeded();
        await check(page, size, 'trust');
      } finally {
        await context.close();
      }
    });
  });
}

describe('themes, shortcuts, zoom and the drop zone', () => {
  let session;

  before(async () => {
    session = await open('laptop');
    await dropFile(session.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
    assert.equal(await waitForResult(session.page), 'ready');
  });

  after(async () => {
    await session?.context.close();
  });

  test('the dark theme follows the system, and stays accessible', async () => {
    const { page, context } = await open('laptop', { colorScheme: 'dark' });
    try {
      const luminance = (rgb) => {
        const [r, g, b] = rgb.match(/\d+/g).map(Number).map((v) => v / 255);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const [bg, fg] = await page.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor,
        getComputedStyle(document.body).color]);
      assert.ok(luminance(bg) < 0.15 && luminance(fg) > 0.8, `dark theme: background ${bg}, text ${fg}`);
      await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
      assert.equal(await waitForResult(page), 'ready');
      await check(page, 'laptop', 'result-dark');
    } finally {
      await context.close();
    }
    const light = await session.page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.equal(light, 'rgb(246, 246, 244)', 'the light theme by default');
  });

  test('keyboard shortcuts: opacity, overlay toggle, classes, photos, zoom; ? lists them', async () => {
    const { page } = session;
    await page.focus('body');
    await page.keyboard.press('?');
    assert.equal(await page.isVisible('[data-testid=help]'), true);
    const listed = await page.$$eval('[data-testid=shortcuts] dt', (dts) => dts.map((dt) => dt.textContent));
    assert.ok(listed.includes('o') && listed.includes('c') && listed.includes('?'), listed.join(' '));
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('[data-testid=help]'), false);

    await page.keyboard.press(']');
    await waitForSettings(page, { opacity: 0.6 });
    await page.keyboard.press('o');
    await waitForSettings(page, { opacity: 0 });
    await page.keyboard.press('o');
    await waitForSettings(page, { opacity: 0.6 });
    await page.keyboard.press('[');
    await waitForSettings(page, { opacity: 0.5 });

    const top = await page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => Number(li.dataset.testid.slice(6))));
    const explained = Number(await page.getAttribute('[data-testid=overlay]', 'data-class'));
    const next = top[(top.indexOf(explained) + 1) % top.length];
    await page.keyboard.press('c');
    await waitForSettings(page, { class: next });
    await page.keyboard.press('Shift+C');
    await waitForSettings(page, { class: explained });

    // Typing into a field is not a shortcut.
    await page.focus('[data-testid=class-search]');
    await page.keyboard.press('o');
    assert.equal(JSON.parse(await page.getAttribute('[data-testid=overlay]', 'data-settings')).opacity, 0.5);
    await page.fill('[data-testid=class-search]', '');
    await page.evaluate(() => document.activeElement.blur());

    await dropFile(page, readFileSync(join(FIXTURES, 'coffee.png')), 'coffee.png', 'image/png');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'coffee.png'
      && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', null, { timeout: 120_000 });
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'chelsea.png'
      && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', null, { timeout: 120_000 });
    await page.keyboard.press('n');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'coffee.png'
      && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', null, { timeout: 120_000 });
    await page.keyboard.press('+');
    assert.equal(await page.getAttribute('[data-testid=zoom]', 'data-scale'), '1.250');
    await page.keyboard.press('0');
    assert.equal(await page.getAttribute('[data-testid=zoom]', 'data-scale'), '1.000');
  });

  test('zoom and pan: the picture scales in place and the read-out follows the pointer', async () => {
    const { page } = session;
    const canvas = '[data-testid=overlay]';
    const photoWidth = Number(await page.getAttribute(canvas, 'data-photo-width'));
    const photoHeight = Number(await page.getAttribute(canvas, 'data-photo-height'));
    const zoomBox = await page.$eval('[data-testid=zoom]', (z) => z.getBoundingClientRect().toJSON());
    const centre = { x: zoomBox.x + zoomBox.width / 2, y: zoomBox.y + zoomBox.height / 2 };
    /** The photo pixel the read-out names under the pointer at (x, y). */
    const readAt = async (x, y) => {
      await page.mouse.move(x, y);
      await page.mouse.move(x + 1, y);
      await page.waitForFunction(() => document.querySelector('[data-testid=readout]').dataset.x !== '');
      await page.waitForTimeout(200); // the newest hover's answer
      return page.$eval('[data-testid=readout]', (r) => [Number(r.dataset.x), Number(r.dataset.y)]);
    };
    const unzoomed = await page.$eval(canvas, (c) => c.getBoundingClientRect().toJSON());
    for (let i = 0; i < 3; i++) await page.click('[data-testid=zoom-in]');
    assert.equal(await page.getAttribute('[data-testid=zoom]', 'data-scale'), '1.953');
    assert.equal(await page.textContent('[data-testid=zoom-level]'), '195%');
    const zoomed = await page.$eval(canvas, (c) => c.getBoundingClientRect().toJSON());
    assert.ok(Math.abs(zoomed.width / unzoomed.width - 1.953) < 0.01, `${unzoomed.width} → ${zoomed.width} px`);
    // Zoomed about the centre: the photo's centre is still under the box's centre.
    const [cx, cy] = await readAt(centre.x, centre.y);
    const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.03 * Math.max(photoWidth, photoHeight), `${what}: ${a} vs ${b}`);
    // The box may be wider than the picture (it is centred in its pane): compare with where
    // the unzoomed picture's centre maps.
    const expectX = ((centre.x - zoomed.x) / zoomed.width) * photoWidth;
    const expectY = ((centre.y - zoomed.y) / zoomed.height) * photoHeight;
    near(cx, expectX, 'x under the centre');
    near(cy, expectY, 'y under the centre');
    // Dragging right by 60 px shows what was left of the centre.
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    await page.mouse.move(centre.x + 60, centre.y, { steps: 5 });
    await page.mouse.up();
    const panned = await page.$eval(canvas, (c) => c.getBoundingClientRect().toJSON());
    assert.ok(Math.abs(panned.x - zoomed.x - 60) <= 1, `panned ${panned.x - zoomed.x} px`);
    const [px] = await readAt(centre.x, centre.y);
    near(px, cx - (60 / zoomed.width) * photoWidth, 'x after the pan');
    // Ctrl + wheel zooms too; Fit goes back.
    await page.mouse.move(centre.x, centre.y);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -300);
    await page.keyboard.up('Control');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=zoom]').dataset.scale) > 2);
    await page.click('[data-testid=zoom-reset]');
    assert.equal(await page.getAttribute('[data-testid=zoom]', 'data-scale'), '1.000');
    const back = await page.$eval(canvas, (c) => c.getBoundingClientRect().toJSON());
    assert.deepEqual([back.x, back.width], [unzoomed.x, unzoomed.width]);
  });

  test('a touch screen offers the camera; a laptop does not', async () => {
    assert.equal(await session.page.isVisible('[data-testid=camera]'), false, 'no camera button on a laptop');
    const { page, context } = await open('phone');
    try {
      assert.equal(await page.isVisible('[data-testid=camera]'), true, 'a camera button on a phone');
      const input = await page.$eval('[data-testid=camera-input]', (i) => [i.accept, i.getAttribute('capture')]);
      assert.deepEqual(input, ['image/*', 'environment'], 'the camera input asks for the rear camera');
      // What the camera hands back is a file like any other.
      await page.setInputFiles('[data-testid=camera-input]', join(FIXTURES, 'coffee.png'));
      assert.equal(await waitForResult(page), 'ready');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'coffee.png');
    } finally {
      await context.close();
    }
  });

  test('the drop zone lights up while files are dragged over the page', async () => {
    const { page } = session;
    const border = () => page.$eval('[data-testid=dropzone]', (d) => getComputedStyle(d).borderTopColor);
    const idle = await border();
    await page.evaluate(() => document.querySelector('main').dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: new DataTransfer() })));
    assert.equal(await page.getAttribute('body', 'data-dragging'), 'true');
    assert.notEqual(await border(), idle);
    assert.equal(await page.isVisible('#drop-hint'), true);
    await page.evaluate(() => document.querySelector('main').dispatchEvent(new DragEvent('dragleave', { bubbles: true })));
    assert.equal(await page.getAttribute('body', 'data-dragging'), null);
    assert.equal(await border(), idle);
  });

  test('the caption says in words what the map shows, and a guess is flagged', async () => {
    const { page } = session;
    const caption = await page.textContent('[data-testid=caption]');
    assert.match(caption, /^Grad-CAM at layer4: where the network found evidence for “[^”]+”; dark red marks the strongest\.$/);
    await page.selectOption('[data-testid=colormap]', 'viridis');
    await waitForSettings(page, { colormap: 'viridis' });
    assert.match(await page.textContent('[data-testid=caption]'), /yellow marks the strongest/);
    await page.selectOption('[data-testid=colormap]', 'jet');
    await waitForSettings(page, { colormap: 'jet' });
    assert.match(await page.textContent('[data-testid=method-help]'), /layer4: /);
    const topShare = async () => parseFloat(await page.textContent('[data-testid=top5] li:first-child .percent'));
    assert.ok(await topShare() > 20, 'the cat is no guess');
    assert.equal(await page.isVisible('[data-testid=warning]'), false, 'no warning for a sure network');

    // A plain grey photo (the ImageNet mean colour): nothing in it for the network to be sure
    // of, so its top class is under engine::LOW_CONFIDENCE (20 %) and the page says so.
    const grey = new PNG({ width: 224, height: 224 });
    for (let i = 0; i < grey.data.length; i += 4) grey.data.set([124, 116, 104, 255], i);
    await dropFile(page, PNG.sync.write(grey), 'grey.png', 'image/png');
    await page.waitForFunction(() => document.querySelector('[data-testid=overlay]').dataset.file === 'grey.png'
      && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', null, { timeout: 120_000 });
    const share = await topShare();
    assert.ok(share < 20, `grey photo: top class at ${share} %`);
    assert.equal(await page.isVisible('[data-testid=warning]'), true);
    assert.match(await page.textContent('[data-testid=warning]'), /The network is unsure: .* so the map explains a guess\./);
  });
});
