// The bad-input corpus (tests/fixtures/bad/, expectations in expected.json) dropped on the
// real page one file after another: each ends in a heatmap at the photo's upright size or
// in a message naming the problem, and the page stays usable. Then hostile file names,
// and the privacy promises over the whole session: no request leaves the origin, no
// Content-Security-Policy violation, no dialog.
//
// The CPU fallback and EfficientNet-Lite0 keep this fast; decoding is the same Rust code on
// every backend.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, SERVE_HEADERS, assertNoForeignRequests, cspViolations, dropFile, launchBrowser,
  openPage, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const BAD = join(FIXTURES, 'bad');
const CASES = JSON.parse(readFileSync(join(BAD, 'expected.json'), 'utf8'));
const MIME = {
  '.jpg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp', '.bmp': 'image/bmp',
  '.tiff': 'image/tiff', '.svg': 'image/svg+xml', '.heic': 'image/heic',
};

let server;
let browser;
let session;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  await waitReady(session.page);
});

after(async () => {
  await browser?.close();
  server?.close();
});

const status = () => session.page.textContent('[data-testid=status]');

async function drop(bytes, name, type) {
  await dropFile(session.page, bytes, name, type);
  return waitForResult(session.page);
}

describe('the bad-input corpus on the page', { timeout: 900_000 }, () => {
  const table = [];

  for (const c of CASES) {
    test(`${c.file} (${c.what}): ${c.expect === 'ok' ? `a heatmap at ${c.width}×${c.height}` : `“${c.message}”`}`, async () => {
      const started = Date.now();
      const state = await drop(readFileSync(join(BAD, c.file)), c.file, MIME[extname(c.file)] || '');
      const ms = Date.now() - started;
      const text = await status();
      table.push(`${c.file.padEnd(24)} ${state.padEnd(6)} ${String(ms).padStart(6)} ms  ${text.slice(0, 110)}`);
      if (c.expect === 'ok') {
        assert.equal(state, 'ready', `${c.file}: ${text}`);
        assert.equal(await session.page.getAttribute('[data-testid=overlay]', 'data-file'), c.file);
        const shown = await session.page.evaluate(() => {
          const canvas = document.querySelector('[data-testid=overlay]');
          const pane = canvas.parentElement.getBoundingClientRect().width * devicePixelRatio;
          return {
            photo: [Number(canvas.dataset.photoWidth), Number(canvas.dataset.photoHeight)],
            canvas: [canvas.width, canvas.height],
            pane: Math.round(pane),
            box: canvas.dataset.box.split('x').map(Number),
          };
        });
        assert.deepEqual(shown.photo, [c.width, c.height], 'the photo at its upright size');
        assert.equal(shown.box[0], shown.pane, 'the box is as wide as the pane');
        // Drawn at the size it is shown: the photo's own unless larger than the box (the
        // pane's width, the window's height below the picture).
        const scale = Math.min(1, shown.box[0] / c.width, shown.box[1] / c.height);
        const fitted = [c.width, c.height].map((side) => Math.max(1, Math.round(side * scale)));
        assert.deepEqual(shown.canvas, fitted, `drawn for a ${shown.box.join('×')} box`);
        assert.ok((await session.page.locator('[data-testid=top5] li').count()) === 5);
      } else {
        assert.equal(state, 'error', `${c.file}: ${text}`);
        assert.ok(text.toLowerCase().includes(c.message), `${c.file}: “${text}” should say “${c.message}”`);
        assert.ok(text.includes(c.file), `the message names the file: ${text}`);
        assert.equal(await session.page.locator('[data-testid=top5] li').count(), 0, 'no stale top-5');
        assert.equal(await session.page.getAttribute('[data-testid=overlay]', 'data-file'), null);
      }
    });
  }

  test('after the whole corpus, a good photo still gets its heatmap', async () => {
    const state = await drop(readFileSync(join(FIXTURES, 'chelsea.png')), 'chelsea.png', 'image/png');
    assert.equal(state, 'ready');
    assert.equal(await session.page.getAttribute('[data-testid=overlay]', 'data-class'), '285', 'Egyptian cat');
    console.log(`corpus results (${CASES.length} files, CPU fallback, EfficientNet-Lite0):\n${table.join('\n')}`);
  });
});

describe('hostile file names are shown as text', { timeout: 300_000 }, () => {
  test('a file named like HTML is never parsed as HTML', async () => {
    const name = '<img src=x onerror=alert(1)>.jpg';
    const state = await drop(Buffer.from('not a photo'), name, 'image/jpeg');
    assert.equal(state, 'error');
    const text = await status();
    assert.ok(text.includes(name), `the name appears literally: ${text}`);
    const good = '<b id="injected">bold</b>.png';
    assert.equal(await drop(readFileSync(join(FIXTURES, 'coffee.png')), good, 'image/png'), 'ready');
    assert.equal(await session.page.getAttribute('[data-testid=overlay]', 'data-file'), good);
    assert.equal(await session.page.locator('img[src="x"], #injected').count(), 0, 'no element was created from a name');
    // The strip of photos names them as text too.
    const titles = await session.page.$$eval('[data-testid=strip] button', (bs) => bs.map((b) => [b.title, b.textContent]));
    assert.ok(titles.some(([title, text]) => title === good && text === good), JSON.stringify(titles.slice(-2)));
    assert.deepEqual(session.dialogs, [], 'no script ran');
  });
});

describe('privacy and security over the session', () => {
  test('the server sends a Content-Security-Policy that allows only the origin, and the page carries the same', async () => {
    const header = SERVE_HEADERS['Content-Security-Policy'];
    assert.match(header, /default-src 'self'/);
    assert.match(header, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(header, /'unsafe-inline'|'unsafe-eval'|https?:|\*/, 'no inline script, eval or other origins');
    const meta = await session.page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    assert.equal(meta, header.replace(/; frame-ancestors 'none'$/, ''), 'the <meta> fallback matches Trunk.toml');
  });

  test('no Content-Security-Policy violation, no dialog, and nothing left the machine (page, workers, service worker, server log)', async () => {
    assert.deepEqual(await cspViolations(session.page), []);
    assert.deepEqual(session.dialogs, []);
    assertNoForeignRequests(session);
    assert.ok(session.requests.length > 3, 'requests were recorded');
  });
});
