// Your own model, through the real page: a PyTorch state dict (make_cam_fixtures.py's
// tiny_basic ResNet, 10 classes, as torch.save wrote it) is picked in the "Your model…"
// dialog, described, converted in the engine's worker with a class-names file, kept in the
// browser and offered in the picker; the burnpack it gets is byte for byte the one
// `gradcam convert --labels` writes (burn's random parameter ids aside), so the page and
// the CLI share one converter. Bad files
// and a labels file of the wrong length get a message and the previous model stays. A
// second visit finds the model in this browser; Remove forgets it. Nothing leaves the page.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, assertNoForeignRequests, dropFile, launchBrowser, openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const CHECKPOINT = join(FIXTURES, 'cam', 'tiny_basic.pth');
const PHOTO = join(FIXTURES, 'chelsea.png');
const SITE_MODEL = 'efficientnet-lite0';
const OUT = mkdtempSync(join(tmpdir(), 'gradcam-own-'));
const NAMES = ['tench', 'goldfish', 'shark', 'tiger shark', 'hammerhead', 'ray', 'stingray', 'cock', 'hen', 'ostrich'];
const LABELS = join(OUT, 'names.txt');
const SHORT_LABELS = join(OUT, 'short.json');

let server;
let browser;
let session;

before(async () => {
  writeFileSync(LABELS, `${NAMES.join('\n')}\n`);
  writeFileSync(SHORT_LABELS, JSON.stringify(NAMES.slice(0, 3)));
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, { query: `?model=${SITE_MODEL}`, withoutWebGpu: true });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

function gradcam(args) {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  const run = spawnSync(bin, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gradcam ${args[0]} failed: ${run.stderr}`);
  return run.stdout;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A burnpack with each parameter's `param_id` (a random id burn gives a parameter when it is
 * created, stored in the header) zeroed: what two conversions of one file share. */
function withoutParamIds(bytes) {
  const out = Buffer.from(bytes);
  const tag = Buffer.from('param_id\x1b', 'latin1'); // the CBOR key, then an 8-byte integer
  for (let at = out.indexOf(tag); at >= 0; at = out.indexOf(tag, at + 1)) out.fill(0, at + tag.length, at + tag.length + 8);
  return out;
}

/** Picks `file` in the dialog and waits until the engine described it (or refused it). */
async function pickCheckpoint(page, file) {
  await page.setInputFiles('[data-testid=own-file]', file);
  await page.waitForFunction(() => !/^Reading /.test(document.querySelector('[data-testid=own-found]').textContent), null, { timeout: 60_000 });
}

const top5 = (page) => page.$$eval('[data-testid=top5] li', (lis) => lis.map((li) => ({
  class: Number(li.dataset.testid.slice(6)),
  label: li.querySelector('.label').textContent,
  percent: Number(li.querySelector('.percent').textContent.replace('%', '')),
})));

/** The burnpack the page keeps for `model` (its Cache API entry), as bytes. */
async function keptBytes(page, model) {
  const b64 = await page.evaluate(async (sha) => {
    const cache = await caches.open('gradcam-weights-v1');
    const response = await cache.match(new URL(`weights/by-sha256/${sha}`, document.baseURI).href);
    if (!response) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }, model.sha256);
  return b64 && Buffer.from(b64, 'base64');
}

const ownModels = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('gradcam-web.ownModels') || '[]'));

describe('your own model in the page', { timeout: 900_000 }, () => {
  test('bad files and a labels file of the wrong length are named; the site model stays', async () => {
    const { page } = session;
    await page.click('[data-testid=own-open]');
    assert.equal(await page.isVisible('[data-testid=own]'), true);
    const cases = [
      ['notes.pth', Buffer.from('these are my notes, not weights'), /not a PyTorch checkpoint/],
      ['cut.pth', readFileSync(CHECKPOINT).subarray(0, 50_000), /ends early/],
    ];
    for (const [name, bytes, expected] of cases) {
      await pickCheckpoint(page, { name, mimeType: 'application/octet-stream', buffer: bytes });
      assert.match(await page.textContent('[data-testid=own-error]'), expected, name);
      assert.equal(await page.getAttribute('[data-testid=own-add]', 'disabled'), '', `${name} cannot be added`);
    }
    // A state dict missing a tensor: described (the rest fits a ResNet), refused on
    // converting, naming the key.
    await pickCheckpoint(page, join(FIXTURES, 'convert', 'tiny_missing.pth'));
    await page.click('[data-testid=own-add]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=own-error]').hidden, null, { timeout: 60_000 });
    assert.match(await page.textContent('[data-testid=own-error]'), /does not fit custom: 1 missing: layer2\.0\.conv1\.weight/);
    assert.equal(await page.getAttribute('body', 'data-model'), SITE_MODEL);
    await pickCheckpoint(page, CHECKPOINT);
    assert.equal(await page.isHidden('[data-testid=own-error]'), true);
    const found = await page.textContent('[data-testid=own-found]');
    assert.match(found, /^tiny_basic\.pth: custom ResNet \(Basic blocks, depths \[1, 1, 1, 1\], width \d+\), 10 classes, \d+ kB \(\d+ tensors\)\.$/, found);
    assert.equal(await page.inputValue('[data-testid=own-mean-r]'), '0.485', 'ImageNet normalisation offered for a ResNet');
    await page.setInputFiles('[data-testid=own-labels]', SHORT_LABELS);
    await page.click('[data-testid=own-add]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=own-error]').hidden, null, { timeout: 120_000 });
    assert.match(await page.textContent('[data-testid=own-error]'), /short\.json names 3 classes but the model has 10/);
    assert.equal(await page.getAttribute('body', 'data-model'), SITE_MODEL, 'the site model is still loaded');
    assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-state'), 'ready');
    assert.deepEqual(await ownModels(page), []);
  });

  test('a checkpoint with its class names is converted as `gradcam convert` converts it and explains the photo', async () => {
    const { page } = session;
    await page.setInputFiles('[data-testid=own-labels]', LABELS);
    const started = Date.now();
    await page.click('[data-testid=own-add]');
    await page.waitForFunction(() => document.body.dataset.model?.startsWith('own-') && document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    assert.equal(await waitForResult(page), 'ready');
    console.log(`tiny_basic.pth converted, stored and the photo explained in the page: ${Date.now() - started} ms`);
    assert.equal(await page.isVisible('[data-testid=own]'), false, 'the dialog closed');
    const [model] = await ownModels(page);
    assert.equal(model.classes, 10);
    assert.equal(model.arch, 'custom');
    assert.equal(await page.getAttribute('body', 'data-model'), model.name);
    const group = await page.$$eval('[data-testid=model] optgroup', (gs) => gs.map((g) => [g.label, [...g.children].map((o) => o.value)]));
    assert.deepEqual(group, [['Your models', [model.name]]]);
    assert.equal(await page.isVisible('[data-testid=own-remove]'), true);

    // The same converter: the page's burnpack is the CLI's, byte for byte but for the
    // random ids burn gives parameters (two CLI runs differ there too).
    const kept = await keptBytes(page, model);
    assert.ok(kept, 'the converted model is in the Cache API');
    assert.equal(sha256(kept), model.sha256);
    const cli = join(OUT, 'cli.bpk');
    gradcam(['convert', CHECKPOINT, cli, '--labels', LABELS]);
    writeFileSync(join(OUT, 'page.bpk'), kept);
    assert.equal(kept.length, readFileSync(cli).length);
    assert.ok(withoutParamIds(kept).equals(withoutParamIds(readFileSync(cli))), `gradcam convert writes the same file (${OUT}/page.bpk, cli.bpk)`);

    // The predictions carry the file's class names and the CLI's probabilities.
    const shown = await top5(page);
    const native = JSON.parse(gradcam(['explain', PHOTO, '--weights', cli, '--device', 'cpu', '--json', '--out', join(OUT, 'o.png')]));
    assert.deepEqual(shown.map((p) => p.class), native.top5.map((p) => p.class));
    for (const [i, p] of shown.entries()) {
      assert.equal(p.label, NAMES[p.class]);
      assert.ok(Math.abs(p.percent - 100 * native.top5[i].prob) <= 0.1, `${p.label}: ${p.percent}% vs ${native.top5[i].prob}`);
    }
    assertNoForeignRequests({ ...session, origin: server.origin });
  });

  test('the model is there on the next visit, from this browser; Remove forgets it', async () => {
    const { context } = session;
    const again = await openPage(browser, server.origin, { query: `?model=${SITE_MODEL}`, withoutWebGpu: true, context });
    const { page } = again;
    await waitReady(page);
    const [model] = await ownModels(page);
    await page.selectOption('[data-testid=model]', model.name);
    await page.waitForFunction((name) => document.body.dataset.model === name && document.body.dataset.ready === 'true', model.name, { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-weights-source'), 'cache');
    assert.match(await page.textContent('[data-testid=status]'), /^Loaded from this browser: tiny_basic \(custom ResNet/);
    assert.ok(!again.requests.some((url) => url.includes(model.sha256)), 'nothing fetched for it');
    await page.click('[data-testid=own-remove]');
    await page.waitForFunction((name) => document.body.dataset.model === name && document.body.dataset.ready === 'true', SITE_MODEL, { timeout: 120_000 });
    assert.deepEqual(await ownModels(page), []);
    assert.equal(await page.$$eval('[data-testid=model] optgroup', (gs) => gs.length), 0);
    assert.equal(await keptBytes(page, model), null, 'its bytes are deleted');
    assert.equal(await page.isHidden('[data-testid=own-remove]'), true);
    assertNoForeignRequests({ ...again, origin: server.origin });
    await page.close();
  });

  test('a checkpoint dropped on the page opens the dialog and is described', async () => {
    const { page } = session;
    await page.reload();
    await waitReady(page);
    await dropFile(page, readFileSync(CHECKPOINT), 'dropped.pth', 'application/octet-stream');
    await page.waitForFunction(() => document.querySelector('[data-testid=own]').open
      && /^dropped\.pth: custom ResNet/.test(document.querySelector('[data-testid=own-found]').textContent), null, { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-photo'), 'none', 'not taken for a photo');
    await page.click('[data-testid=own-cancel]');
  });
});
