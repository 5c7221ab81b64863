// Real wasm traps inside the engine, synchronous and asynchronous: each must restart the
// engine exactly as a lost GPU device does (a fresh worker and wasm instance, the model
// reloaded from the cache, the photo redone), never leave the trapped instance in use.
//
// The traps are real, made in the release build the page ships: a prelude in the engine's
// worker (server.workerScripts) keeps the wasm instance's exports and memory, and on the
// test's word either
// - grows the wasm memory to its limit, so that Rust's next allocation larger than the whole
//   memory was fails: Rust aborts ("out of memory"), as on a photo too big for the heap; or
// - hands the next call of one export a pointer past the end of the wasm memory: Rust reads
//   it and traps ("memory access out of bounds"), in the call itself or, for an async call,
//   in the future polled after the call has returned.
// Before the engine restarts, a trap in a synchronous call (setPhoto, render) used to come back
// as an ordinary error, leaving the instance with a RefCell borrow never released.
//
// EfficientNet-Lite0 on the CPU fallback keeps each restart to about a second.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import {
  FIXTURES, WEIGHTS_DIR, assertCanvasMatchesNative, dropFile, launchBrowser, nativeOverlay, openPage,
  recordCanvasStates, serveDist, waitForResult, waitReady,
} from './harness.mjs';

const QUERY = '?model=efficientnet-lite0';
const PHOTO = join(FIXTURES, 'chelsea.png');
const MAX_PIXELS = 100_000_000; // the decoder refuses larger photos (imageio::decode)

let server;
let browser;
let native;

/** Runs in the engine's worker before its own code: `self.__trap` (see the file's comment). */
function trapPrelude() {
  const armed = new Set();
  let exports = null;
  self.__trap = {
    /** The next call of export `name` reads its first pointer argument past the memory's end. */
    badPointer(name) {
      if (typeof exports?.[name] !== 'function') throw new Error(`no wasm export ${name}`);
      armed.add(name);
    },
    /** Grows the memory to its limit; returns its size before, in bytes. */
    exhaustMemory() {
      const before = exports.memory.buffer.byteLength;
      for (let pages = 65536; pages >= 1; pages >>= 1) {
        try { for (;;) exports.memory.grow(pages); } catch { /* that step no longer fits */ }
      }
      return { before, after: exports.memory.buffer.byteLength };
    },
  };
  /** The instance's exports with every `app_*` method wrapped (all arguments but the first
   * pointer pass through unchanged). */
  function wrap(instance) {
    const real = instance.exports;
    const patched = { ...real };
    for (const [name, f] of Object.entries(real)) {
      if (typeof f !== 'function' || !name.startsWith('app_')) continue;
      patched[name] = (app, pointer, ...rest) => {
        if (!armed.delete(name)) return f(app, pointer, ...rest);
        const end = real.memory.buffer.byteLength;
        if (end + 0x10000 >= 2 ** 32) throw new Error('the memory is full: no address lies past its end');
        return f(app, end + 0x10000, ...rest);
      };
    }
    exports = patched;
    // Still an Instance to the glue's `instanceof`, with the wrapped exports.
    return Object.create(WebAssembly.Instance.prototype, { exports: { value: patched } });
  }
  // wasm-bindgen's glue instantiates through one of these and keeps `instance.exports`.
  for (const how of ['instantiateStreaming', 'instantiate']) {
    const original = WebAssembly[how];
    WebAssembly[how] = async function instantiateWatched(...args) {
      const result = await original.apply(this, args);
      if (result instanceof WebAssembly.Instance) return wrap(result);
      return { module: result.module, instance: wrap(result.instance) };
    };
  }
}

before(async () => {
  server = await serveDist();
  server.workerScripts([trapPrelude]);
  browser = await launchBrowser();
  native = nativeOverlay(PHOTO, join(WEIGHTS_DIR, 'efficientnet-lite0.bpk'));
});

after(async () => {
  server?.restore('/worker.js');
  await browser?.close();
  server?.close();
});

/** Opens the page on the CPU, recording every state of the overlay with the number of engine
 * restarts at that moment (window.__states). */
async function openRecorded() {
  const session = await openPage(browser, server.origin, {
    query: QUERY,
    withoutWebGpu: true,
    initScripts: [recordCanvasStates],
  });
  await waitReady(session.page);
  return session;
}

/** Calls `self.__trap[how](...args)` in the engine's current worker; returns its result. */
async function arm(page, how, ...args) {
  const engine = page.workers().filter((w) => w.url().endsWith('/worker.js')).at(-1);
  assert.ok(engine, 'the engine\'s worker is running');
  const result = await engine.evaluate(([h, a]) => self.__trap[h](...a), [how, args]);
  return { result, at: await page.evaluate(() => performance.now()) };
}

/** Waits until the engine restarted `n` times in all (or the page shows an error instead),
 * then until the photo on screen is explained again; asserts that the trap restarted the
 * engine, said so, and that no picture was shown as current between the trap and the restart. */
async function assertRestarted(page, n, since, trap) {
  await page.waitForFunction((want) => document.body.dataset.engineRestarts === want
    || document.getElementById('status').dataset.kind === 'error', String(n), { timeout: 60_000, polling: 50 });
  const status = await page.textContent('[data-testid=status]');
  assert.equal(await page.getAttribute('body', 'data-engine-restarts'), String(n), `the trap did not restart the engine; the page says: ${status}`);
  assert.equal(await waitForResult(page), 'ready', await page.textContent('[data-testid=status]'));
  // The worker reports the trap, or the page sees the worker's uncaught error first.
  assert.match(await page.textContent('[data-testid=engine-note]'),
    new RegExp(`The engine stopped with an internal error \\((Uncaught RuntimeError: )?${trap}\\); the engine was restarted on CPU`));
  const states = await page.evaluate(() => window.__states);
  const stale = states.filter((s) => s.t >= since && s.state === 'ready' && s.restarts < n);
  assert.deepEqual(stale, [], 'nothing from the trapped engine was shown as current');
}

async function explainChelsea(page) {
  await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(page), 'ready', await page.textContent('[data-testid=status]'));
}

/** A black `side`×`side` PNG, one bit per pixel: a few kB on disk, `3·side²` bytes decoded. */
function blackPng(side) {
  const row = Buffer.alloc(1 + Math.ceil(side / 8)); // filter byte 0, then black pixels
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, no filter, no interlace
  const pixels = deflateSync(Buffer.concat(Array.from({ length: side }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('a wasm trap restarts the engine as a lost GPU device does', { timeout: 600_000 }, () => {
  test('out of memory while decoding a photo (setPhoto, synchronous)', async () => {
    const { page, context } = await openRecorded();
    try {
      const { result: memory, at } = await arm(page, 'exhaustMemory');
      // Decoded to RGB, the photo needs more than the whole memory held before: no free
      // block can hold it, and the memory cannot grow any more.
      const side = Math.ceil(Math.sqrt((1.25 * memory.before) / 3));
      console.log(`wasm memory ${memory.before} bytes, grown to ${memory.after}; photo ${side}×${side}`);
      assert.ok(memory.after > 2 * memory.before, `the memory could not be grown (${JSON.stringify(memory)})`);
      assert.ok(side * side <= MAX_PIXELS, `the photo would be refused as too large: ${side}×${side}`);
      await dropFile(page, blackPng(side), 'big.png', 'image/png');
      await assertRestarted(page, 1, at, 'unreachable');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'big.png', 'the fresh engine redid the photo');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-photo-width'), String(side));
      await explainChelsea(page);
      await assertCanvasMatchesNative(page, native, 'the next photo after the restart');
    } finally {
      await context.close();
    }
  });

  test('a trap while drawing (render, synchronous)', async () => {
    const { page, context } = await openRecorded();
    try {
      await explainChelsea(page);
      const { at } = await arm(page, 'badPointer', 'app_render');
      await page.fill('[data-testid=opacity]', '60'); // a display change: only a render
      await assertRestarted(page, 1, at, 'memory access out of bounds');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'chelsea.png', 'the fresh engine redid the photo');
      await page.fill('[data-testid=opacity]', '50');
      await page.waitForFunction(() => {
        const canvas = document.querySelector('[data-testid=overlay]');
        return canvas.dataset.state === 'ready' && JSON.parse(canvas.dataset.settings || '{}').opacity === 0.5;
      }, null, { timeout: 60_000 });
      await assertCanvasMatchesNative(page, native, 'after the restart');
    } finally {
      await context.close();
    }
  });

  test('a trap in a future, after the call returned (explain, asynchronous)', async () => {
    const { page, context } = await openRecorded();
    try {
      const { at } = await arm(page, 'badPointer', 'app_explain');
      await dropFile(page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
      await assertRestarted(page, 1, at, 'memory access out of bounds');
      assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'chelsea.png', 'the fresh engine redid the photo');
      await assertCanvasMatchesNative(page, native, 'after the restart');
    } finally {
      await context.close();
    }
  });
});
