// The Trust panel on the mission's network: ResNet-101 (untrained, seed 0: the test-only
// model next to the shipped ones) on the page's CPU fallback, a dropped photo checked through
// the real UI with the sanity checks. The curves are drawn and every number equals
// `gradcam evaluate` on the same weights, photo and settings (natively, flex). (On WebGPU
// here — SwiftShader, a CPU emulation — the check without sanity checks took 409 s: a
// software GPU says nothing about GPU speed.)
//
// An untrained ResNet-101's logits are huge, so its probabilities sit at 0 or 1 and the
// deletion, insertion and confidence numbers say little; the sanity checks compare maps,
// whose similarities are ordinary numbers. Tolerance: probabilities within 1 % of their size
// or 1e-5; similarities within 0.01 (the maps differ in the last float bits between the
// page's wasm and the native binary).

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
  session = await openPage(browser, server.origin, { query: `?model=${MODEL}`, withoutWebGpu: true });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'grace_hopper.jpg', 'image/jpeg');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

describe('the Trust panel on ResNet-101 (CPU fallback)', { timeout: 900_000 }, () => {
  test('checking the map with the sanity checks draws its curves and gives the CLI\'s numbers', async () => {
    const { page } = session;
    assert.match(await page.textContent('[data-testid=backend]'), /CPU/);
    await page.selectOption('[data-testid=trust-steps]', '8');
    await page.uncheck('[data-testid=trust-baselines]');
    await page.check('[data-testid=trust-sanity]');
    const ms = await runTrustCheck(page);
    console.log(`ResNet-101 trust check (deletion, insertion, confidence, 8 steps; sanity checks) on the CPU fallback in the page: ${ms} ms`);
    assert.deepEqual(await plottedLines(page, 'trust-curves'), [['deletion', 9], ['insertion', 9]]);
    assert.equal(await page.isVisible('[data-testid=trust-curves]'), true);
    const shown = await trustTable(page);
    const similarities = ['randomisation_spearman', 'random_logit_spearman'];
    assert.deepEqual(Object.keys(shown).sort(), ['confidence_change', 'deletion_auc', 'insertion_auc', ...similarities].sort());
    const native = nativeTrust(PHOTO, WEIGHTS, [
      '--metrics', 'deletion,insertion,confidence,randomisation,cascading-randomisation,random-logit', '--steps', '8',
    ]).gradcam;
    for (const [metric, byMap] of Object.entries(shown)) {
      assert.deepEqual(Object.keys(byMap), ['gradcam'], metric);
      const [value, cli] = [byMap.gradcam, native[metric]];
      const tolerance = similarities.includes(metric) ? 0.01 : Math.max(1e-5, 0.01 * Math.abs(cli));
      assert.ok(Number.isFinite(value) && Math.abs(value - cli) <= tolerance, `${metric}: page ${value}, CLI ${cli}`);
    }
    const strip = await page.$$eval('[data-testid=sanity-strip-pictures] figure', (fs) => fs.map((f) => Number(f.dataset.spearman)));
    assert.equal(strip.length, 8, 'this map, the random class, six cascading steps');
    strip.slice(2).forEach((s, i) => {
      const cli = native.cascading_spearman[i];
      assert.ok(cli === null ? Number.isNaN(s) : Math.abs(s - cli) <= 0.01, `cascading step ${i}: page ${s}, CLI ${cli}`);
    });
    console.log(`ResNet-101 trust numbers (page): ${JSON.stringify(Object.fromEntries(Object.entries(shown).map(([m, v]) => [m, v.gradcam])))}`);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });
});
