// The Trust panel on the mission's network: ResNet-101 (untrained, seed 0: the test-only
// model next to the shipped ones) on the page's WebGPU path (SwiftShader here), a dropped
// photo checked through the real UI. The curves are drawn and every number equals
// `gradcam evaluate` on the same weights, photo and settings (natively, flex).
//
// Tolerance: an untrained network gives every class about 1/1000, so the numbers are small;
// WebGPU and the CPU sum in different orders. Each number agrees within 1 % of its size or
// 1e-5, whichever is larger.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, WEIGHTS_DIR, assertNoForeignRequests, dropFile, launchBrowser, nativeTrust, openPage, plottedLines,
  runTrustCheck, serveDist, trustTable, waitForResult, waitReady,
} from './harness.mjs';

const MODEL = 'resnet101-untrained';
const WEIGHTS = join(WEIGHTS_DIR, `${MODEL}.bpk`);
const PHOTO = join(FIXTURES, 'grace_hopper.jpg');

let server;
let browser;
let session;

before(async () => {
  if (!existsSync(WEIGHTS)) throw new Error(`${WEIGHTS} is missing: set GRADCAM_TEST_WEIGHTS (./dev test does)`);
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, { query: `?model=${MODEL}` });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'grace_hopper.jpg', 'image/jpeg');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

describe('the Trust panel on ResNet-101 (WebGPU)', { timeout: 900_000 }, () => {
  test('checking the map draws its curves and gives the CLI\'s numbers', async () => {
    const { page } = session;
    assert.match(await page.textContent('[data-testid=backend]'), /WebGPU/);
    await page.selectOption('[data-testid=trust-steps]', '8');
    await page.uncheck('[data-testid=trust-baselines]');
    const ms = await runTrustCheck(page);
    console.log(`ResNet-101 trust check (deletion, insertion, confidence, 8 steps) on WebGPU in the page: ${ms} ms`);
    assert.deepEqual(await plottedLines(page, 'trust-curves'), [['deletion', 9], ['insertion', 9]]);
    const shown = await trustTable(page);
    assert.deepEqual(Object.keys(shown), ['confidence_change', 'deletion_auc', 'insertion_auc']);
    const native = nativeTrust(PHOTO, WEIGHTS, ['--metrics', 'deletion,insertion,confidence', '--steps', '8']).gradcam;
    for (const [metric, byMap] of Object.entries(shown)) {
      assert.deepEqual(Object.keys(byMap), ['gradcam'], metric);
      const [page, cli] = [byMap.gradcam, native[metric]];
      assert.ok(Number.isFinite(page) && page !== 0, `${metric}: ${page}`);
      const tolerance = Math.max(1e-5, 0.01 * Math.abs(cli));
      assert.ok(Math.abs(page - cli) <= tolerance, `${metric}: page ${page}, CLI ${cli}`);
    }
    console.log(`ResNet-101 trust numbers (page): ${JSON.stringify(Object.fromEntries(Object.entries(shown).map(([m, v]) => [m, v.gradcam])))}`);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });
});
