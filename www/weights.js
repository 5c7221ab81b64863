// Model weights: the manifest, a streamed download with progress, a SHA-256 check against
// the manifest, and a copy in the Cache API keyed by that hash. Nothing here talks to wasm:
// the page hands bytes to the engine only after they passed the check.

export const CACHE_NAME = 'gradcam-weights-v1';

/** A failure whose message is ready for the status line (it names the model and the problem). */
export class WeightsError extends Error {}

export function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

const exact = (n) => n.toLocaleString('en');
const reason = (e) => (e && e.message) || String(e);

/** The list of models this site offers (`weights/models.json`). */
export async function fetchManifest() {
  const response = await fetch('weights/models.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`the model list weights/models.json is missing (HTTP ${response.status})`);
  const manifest = await response.json();
  if (!Array.isArray(manifest.models) || !manifest.models.length) throw new Error('the model list is empty');
  return manifest;
}

/** The Cache API key of a model's bytes: a same-origin URL that is never fetched. */
export function cacheKey(sha256) {
  return new URL(`weights/by-sha256/${sha256}`, document.baseURI).href;
}

export async function sha256Hex(bytes) {
  if (!crypto.subtle) {
    throw new Error('this browser cannot compute SHA-256 here (open the page over https or on localhost)');
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The Cache API exists only in secure contexts (https, localhost); without it every visit downloads.
async function openCache() {
  if (!('caches' in globalThis)) return null;
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

/** Cached bytes of `model` when an intact copy is there; a damaged copy is deleted. */
async function fromCache(cache, model) {
  const key = cacheKey(model.sha256);
  try {
    const response = await cache.match(key);
    if (!response) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length === model.bytes && (await sha256Hex(bytes)) === model.sha256) return bytes;
    console.warn(`the cached copy of ${model.label} is damaged; downloading it again`);
  } catch (e) {
    console.warn(`could not read ${model.label} from the cache: ${reason(e)}`);
  }
  await cache.delete(key).catch(() => {});
  return null;
}

async function readBody(model, response, onProgress, signal) {
  const bytes = new Uint8Array(model.bytes);
  const reader = response.body.getReader();
  let received = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (signal && signal.aborted) throw e;
      throw new WeightsError(`The download of ${model.label} was interrupted after ${formatBytes(received)} `
        + `of ${formatBytes(model.bytes)}: ${reason(e)}.`);
    }
    if (chunk.done) return { bytes, received };
    if (received + chunk.value.length > model.bytes) {
      reader.cancel().catch(() => {});
      throw new WeightsError(`The download of ${model.label} was corrupted: it is larger than the `
        + `${exact(model.bytes)} bytes the model list promises.`);
    }
    bytes.set(chunk.value, received);
    received += chunk.value.length;
    onProgress(received, model.bytes);
  }
}

/** Streams `weights/<file>`, then checks its length and SHA-256 against the manifest. */
async function download(model, onProgress, signal) {
  const url = `weights/${model.file}`;
  let response;
  try {
    // Our own cache keeps the bytes; the HTTP cache would only hold a second copy.
    response = await fetch(url, { cache: 'no-store', signal });
  } catch (e) {
    if (signal && signal.aborted) throw e;
    throw new WeightsError(`The download of ${model.label} failed: ${reason(e)} (${url}).`);
  }
  if (!response.ok) {
    throw new WeightsError(`The download of ${model.label} failed: the server answered HTTP ${response.status} for ${url}.`);
  }
  const { bytes, received } = await readBody(model, response, onProgress, signal);
  if (received < model.bytes) {
    throw new WeightsError(`The download of ${model.label} is incomplete (truncated): `
      + `${exact(received)} of ${exact(model.bytes)} bytes arrived.`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== model.sha256) {
    throw new WeightsError(`The download of ${model.label} was corrupted (sha256 mismatch): `
      + `got ${actual.slice(0, 16)}…, expected ${model.sha256.slice(0, 16)}… from the model list.`);
  }
  return bytes;
}

/**
 * The verified bytes of `model`: an intact cached copy when there is one (no network), else a
 * download. Resolves to { bytes, source: 'cache' | 'network' }. `onProgress(received, total)`
 * follows the download; `signal` abandons it.
 */
export async function obtainWeights(model, { onProgress = () => {}, signal } = {}) {
  const cache = await openCache();
  const cached = cache && (await fromCache(cache, model));
  if (cached) return { bytes: cached, source: 'cache' };
  if (model.own) {
    const kept = keptHere.get(model.sha256);
    if (kept) return { bytes: kept, source: 'cache' };
    // Converted here, never on the server: gone when the browser's storage was cleared.
    throw new WeightsError(`${model.label} is no longer stored in this browser (its storage was cleared): `
      + 'add the checkpoint again with “Your model…”.');
  }
  return { bytes: await download(model, onProgress, signal), source: 'network' };
}

// Own models' bytes where the Cache API could not keep them: for this visit only.
const keptHere = new Map();

/** Keeps verified bytes for the next visit; resolves to whether they were stored. An own
 * model the Cache API cannot keep is held for this visit instead (it has no other source). */
export async function rememberWeights(model, bytes) {
  const stored = await cacheWeights(model, bytes);
  if (model.own && !stored) keptHere.set(model.sha256, bytes);
  return stored;
}

async function cacheWeights(model, bytes) {
  const cache = await openCache();
  if (!cache) return false;
  try {
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) };
    await cache.put(cacheKey(model.sha256), new Response(bytes, { headers }));
    return true;
  } catch (e) {
    console.warn(`could not cache ${model.label}: ${reason(e)}`);
    return false;
  }
}

/** Drops a model's cached copy (the engine rejected it, or the user removed their model). */
export async function forgetWeights(model) {
  keptHere.delete(model.sha256);
  const cache = await openCache();
  if (cache) await cache.delete(cacheKey(model.sha256)).catch(() => {});
}

/** Deletes cached weights that no model in `manifest` (the user's own included) uses any
 * more (older versions). */
export async function pruneCache(manifest) {
  const cache = await openCache();
  if (!cache) return;
  const wanted = new Set(manifest.models.map((m) => cacheKey(m.sha256)));
  for (const request of await cache.keys()) {
    if (!wanted.has(request.url)) await cache.delete(request);
  }
}
