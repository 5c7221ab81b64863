// Large photos on the page (CPU fallback, EfficientNet-Lite0): a 4032×3024 phone-sized JPEG
// (chelsea.png upscaled in the page) is drawn at the size it is shown, redraws in a frame,
// and is saved at full resolution; the 100-megapixel limit file (largest-10000x10000.png)
// is explained and saved with the engine's wasm heap measured. Timings are logged for the
// report and checked against the goals of issue 18.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  FIXTURES, WEIGHTS_DIR, canvasPixels, compareImages, launchBrowser, nativeOverlay, openPage, serveDist, waitReady,
} from './harness.mjs';
import { dropTimed, frame, median, phoneJpeg, shown, timeDrops, timeRedraws } from './large-photo-timing.mjs';

const MODEL = 'efficientnet-lite0';
const WEIGHTS = join(WEIGHTS_DIR, `${MODEL}.bpk`);
const OUT = mkdtempSync(join(tmpdir(), 'gradcam-large-'));
const MB = 1024 * 1024;

let server;
let browser;
let session;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, {
    query: `?model=${MODEL}`,
    withoutWebGpu: true,
    contextOptions: { acceptDownloads: true },
  });
  await waitReady(session.page);
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** The picture size the engine draws `photo` at in `box` (display::Fit: the largest that
 * fits, never above the photo's size, sides rounded). */
function fitted([pw, ph], [bw, bh]) {
  const scale = Math.min(1, bw / pw, bh / ph);
  return [Math.max(1, Math.round(pw * scale)), Math.max(1, Math.round(ph * scale))];
}

function assertClose(actual, expected, what) {
  const diff = compareImages(actual, expected);
  console.log(`${what}: mean |Δ| ${diff.meanAbs.toFixed(3)}, max ${diff.max}`);
  assert.ok(diff.meanAbs <= 1.0 && diff.fractionOver8 <= 0.01, `${what}: ${JSON.stringify(diff)}`);
}

async function saved(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), page.click(`[data-testid=${testid}]`)]);
  const path = join(OUT, download.suggestedFilename());
  await download.saveAs(path);
  return readFileSync(path);
}

/** Width and height from a PNG's header. */
const pngSize = (bytes) => [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];

const wasmBytes = async (page) => Number(await page.getAttribute('[data-testid=memory]', 'data-wasm-bytes'));

describe('large photos are drawn at display size (CPU fallback, EfficientNet-Lite0)', { timeout: 1_200_000 }, () => {
  test('a 4032×3024 photo: drawn for its pane, redrawn in a frame, saved at full resolution', async () => {
    const { page } = session;
    const small = await phoneJpeg(page, 640, 480, OUT);
    const large = await phoneJpeg(page, 4032, 3024, OUT);
    const times = await timeDrops(page, small, large);
    const ratio = median(times.large) / median(times.small);
    console.log(`drop → heatmap: 640×480 ${times.small.join('/')} ms, 4032×3024 ${times.large.join('/')} ms; `
      + `median ratio ${ratio.toFixed(2)} (goal ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'not met'}; decoding 12 megapixels `
      + 'dominates)');

    const first = await shown(page);
    assert.deepEqual(first.photo, [4032, 3024]);
    assert.equal(first.box[0], first.pane, 'the box is as wide as the pane');
    assert.deepEqual(first.canvas, fitted(first.photo, first.box), `drawn for its ${first.box.join('×')} box, not at 4032×3024`);
    const pane = ['--display-box', first.box.join('x')];
    const top = await page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => Number(li.dataset.testid.slice(6))));
    assertClose(await canvasPixels(page), nativeOverlay(large, WEIGHTS, top[0], pane).pixels, '4032×3024 at display size');

    // Class switches at layer4 and display changes, each timed from the click to the frame;
    // the last switch returns to the top class.
    const { switches, changes } = await timeRedraws(page);
    const line = (fs) => `click → frame ${fs.map((f) => f.ms).join('/')} ms, engine ${fs.map((f) => f.engineMs.toFixed(1)).join('/')} ms `
      + `(of which the overlay's picture ${fs.map((f) => f.renderMs.toFixed(1)).join('/')} ms)`;
    console.log(`4032×3024 class switch at layer4: ${line(switches)}`);
    console.log(`4032×3024 opacity change: ${line(changes)}`);
    console.log(`last frame: ${changes.at(-1).timings}`);
    // Issue 18's goals are 16 ms in the engine and 50 ms click to frame; they are reported
    // (met or not). Asserted, with a 3× margin as this shared 2-core machine is often busy:
    // the overlay's picture (what drawing at display size governs; the class switch's map
    // product is the same for any photo size) and click to frame. At full resolution both
    // took ≈ 200 ms.
    for (const [what, fs] of [['class switch', switches], ['display change', changes]]) {
      const engine = median(fs.map((f) => f.engineMs));
      const click = median(fs.map((f) => f.ms));
      console.log(`${what}: median engine ${engine.toFixed(1)} ms (goal 16: ${engine <= 16 ? 'met' : 'not met'}), `
        + `click → frame ${click} ms (goal 50: ${click <= 50 ? 'met' : 'not met'})`);
      assert.ok(median(fs.map((f) => f.renderMs)) <= 3 * 16, `${what}: the picture took over 48 ms: ${line(fs)}`);
      assert.ok(click <= 3 * 50, `${what}: click to frame over 150 ms: ${line(fs)}`);
    }

    // Hover reads the photo pixel under the pointer (the picture is taller than the window).
    const box = await page.$eval('[data-testid=overlay]', (c) => {
      c.scrollIntoView({ block: 'center' });
      return c.getBoundingClientRect().toJSON();
    });
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await page.waitForFunction(() => document.querySelector('[data-testid=readout]').dataset.value);
    const [x, y] = await page.$eval('[data-testid=readout]', (r) => [Number(r.dataset.x), Number(r.dataset.y)]);
    assert.ok(Math.abs(x - 0.4 * 4032) <= 8 && Math.abs(y - 0.5 * 3024) <= 8, `read-out at photo pixel (${x}, ${y})`);

    // Save: the overlay at the photo's resolution, as the native engine draws it.
    const png = PNG.sync.read(await saved(page, 'save-png'));
    assert.deepEqual([png.width, png.height], [4032, 3024]);
    assertClose(png, nativeOverlay(large, WEIGHTS, top[0]).pixels, 'saved 4032×3024 overlay');
    const map16 = await saved(page, 'save-png16');
    assert.deepEqual(pngSize(map16), [4032, 3024]);

    // A narrower window redraws the picture for its new box.
    await page.setViewportSize({ width: 700, height: 720 });
    try {
      await page.waitForFunction(() => {
        const canvas = document.querySelector('[data-testid=overlay]');
        const pane = Math.round(parseFloat(getComputedStyle(canvas.parentElement).width) * devicePixelRatio);
        return Number(canvas.dataset.box.split('x')[0]) === pane && canvas.dataset.state === 'ready';
      }, null, { timeout: 30_000 });
      const narrow = await shown(page);
      assert.ok(narrow.box[0] < first.box[0], `the pane shrank: ${narrow.box[0]} px`);
      assert.deepEqual(narrow.canvas, fitted(narrow.photo, narrow.box));
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  test('the 100-megapixel limit file is explained and saved with the wasm heap bounded', async () => {
    const { page } = session;
    const before = await wasmBytes(page);
    const ms = await dropTimed(page, join(FIXTURES, 'bad/largest-10000x10000.png'), 'largest.png', 'image/png');
    const drawn = await shown(page);
    const afterDrop = await wasmBytes(page);
    assert.deepEqual(drawn.photo, [10000, 10000]);
    assert.deepEqual(drawn.canvas, fitted(drawn.photo, drawn.box));
    const f = await frame(page, () => page.fill('[data-testid=opacity]', '70'), { opacity: 0.7 });
    const png = await saved(page, 'save-png');
    assert.deepEqual(pngSize(png), [10000, 10000]);
    const map16 = await saved(page, 'save-png16');
    assert.deepEqual(pngSize(map16), [10000, 10000]);
    const afterSave = await wasmBytes(page);
    console.log(`10000×10000: drop → heatmap ${ms} ms, opacity change ${f.ms} ms (engine ${f.engineMs.toFixed(1)} ms); `
      + `wasm heap ${(before / MB).toFixed(0)} MB before, ${(afterDrop / MB).toFixed(0)} MB after the drop, `
      + `${(afterSave / MB).toFixed(0)} MB after saving the overlay (${(png.length / MB).toFixed(1)} MB PNG) and the 16-bit map`);
    // The decoded photo (300 MB of RGB, decoded from 100 MB of grey) is the only
    // full-resolution buffer; pictures are at display size and saves are streamed.
    const photo = 10000 * 10000 * 3;
    assert.ok(afterSave - before <= photo + 160 * MB, `the heap grew by ${((afterSave - before) / MB).toFixed(0)} MB`);
    assert.ok(afterSave <= 700 * MB, `the heap is ${(afterSave / MB).toFixed(0)} MB`);
  });
});
