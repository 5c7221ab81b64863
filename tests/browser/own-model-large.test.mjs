// Your own model at full size: a ResNet-50 with 7 classes and a ResNet-101 with 1000, as
// PyTorch state dicts (`gradcam init-weights --pytorch`: untrained, torchvision's key names,
// torch.save's zip format), picked in the "Your model…" dialog, described, converted in the
// engine's worker, stored and used to explain a photo on the CPU fallback. Logs the time from
// "Add this model" to the model being ready and the engine's wasm memory before and after
// (wasm memory only grows, so "after" is the peak).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, assertNoForeignRequests, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const OUT = mkdtempSync(join(tmpdir(), 'gradcam-own-large-'));
const PHOTO = join(FIXTURES, 'chelsea.png');
const CASES = [
  { arch: 'resnet50', classes: 7, described: 'ResNet-50, 7 classes' },
  { arch: 'resnet101', classes: 1000, described: 'ResNet-101, 1000 classes' },
];

let server;
let browser;
let session;

before(async () => {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  for (const c of CASES) {
    c.file = join(OUT, `${c.arch}-finetuned.pth`);
    const run = spawnSync(bin, ['init-weights', '--arch', c.arch, '--classes', String(c.classes), '--pytorch', '--out', c.file], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`gradcam init-weights failed: ${run.stderr}`);
  }
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

const MB = (n) => `${(n / 1e6).toFixed(0)} MB`;
const wasmBytes = (page) => page.$eval('[data-testid=memory]', (m) => Number(m.dataset.wasmBytes));

describe('full-size checkpoints of your own', { timeout: 900_000 }, () => {
  for (const c of CASES) {
    test(`a ${c.described} checkpoint is converted in the page and explains the photo`, async () => {
      const { page } = session;
      const before = await wasmBytes(page);
      await page.click('[data-testid=own-open]');
      const picked = Date.now();
      await page.setInputFiles('[data-testid=own-file]', c.file);
      await page.waitForFunction(() => document.querySelector('[data-testid=own-found]').dataset.classes !== undefined
        || !document.querySelector('[data-testid=own-error]').hidden, null, { timeout: 120_000 });
      const found = await page.textContent('[data-testid=own-found]');
      assert.ok(found.includes(`${c.described},`), found);
      const described = Date.now() - picked;
      const added = Date.now();
      await page.click('[data-testid=own-add]');
      await page.waitForFunction(() => document.body.dataset.model?.startsWith('own-') && document.body.dataset.ready === 'true'
        && !document.querySelector('[data-testid=own]').open, null, { timeout: 300_000 });
      const converted = Date.now() - added;
      assert.equal(await waitForResult(page, 300_000), 'ready');
      const labels = await page.$$eval('[data-testid=top5] li .label', (ls) => ls.map((l) => l.textContent));
      assert.equal(labels.length, 5);
      if (c.classes !== 1000) labels.forEach((l) => assert.match(l, /^class [0-6]$/));
      const peak = await wasmBytes(page);
      const converter = Number(await page.getAttribute('[data-testid=own]', 'data-converter-bytes'));
      assert.ok(converter > statSync(c.file).size, `the converter held the checkpoint: ${converter} bytes`);
      console.log(`${c.described} (${MB(statSync(c.file).size)} .pth): described in ${described} ms; converted (in a converter engine of its own, ${MB(converter)} of wasm memory; its worker is closed after), stored and loaded in ${converted} ms; the explaining engine's wasm memory ${MB(before)} before, ${MB(peak)} after`);
      // Another photo's worth of room is left: the page stays usable.
      await page.selectOption('[data-testid=model]', 'efficientnet-lite0');
      await page.waitForFunction(() => document.body.dataset.model === 'efficientnet-lite0' && document.body.dataset.ready === 'true', null, { timeout: 120_000 });
      assert.equal(await waitForResult(page, 300_000), 'ready');
      assertNoForeignRequests({ ...session, origin: server.origin });
    });
  }
});
