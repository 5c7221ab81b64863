// Offline support: after the first visit the app (page, scripts, wasm, model list, samples)
// is served from this cache when the network is unreachable. Online, every request goes to
// the network first, so a new version is picked up at once. Weights files are left alone:
// weights.js downloads them with progress and keeps verified copies in its own cache.
// Everything it serves carries the cross-origin isolation headers (as `trunk serve` sends
// them), so that on a static host that cannot send them the page is isolated from its second
// load on and runs the threaded engine (app.js reloads once when this worker takes over).

const CACHE = 'gradcam-web-app-v8';
const APP = [
  './', 'index.html', 'style.css', 'app.js', 'state.js', 'screen.js', 'lifecycle.js', 'models.js', 'photos.js',
  'drawing.js', 'readings.js', 'zoom.js', 'shortcuts.js', 'trust-check.js', 'ground-truth.js', 'explorer.js', 'views.js', 'exports.js', 'trust.js', 'plot.js', 'own-models.js', 'audit.js', 'audit-view.js', 'weights.js', 'engine.js', 'worker.js', 'cpu-thread.js',
  'gradcam-web.js', 'gradcam-web_bg.wasm', 'threads/gradcam-web.js', 'threads/gradcam-web_bg.wasm', 'weights/models.json', 'samples/samples.json',
  'samples/chelsea.jpg', 'samples/coffee.jpg', 'samples/grace_hopper.jpg',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(APP);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('gradcam-web-app-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** `response` with the isolation headers (one of our own; anything else is left alone). */
function isolated(response) {
  if (response.type.startsWith('opaque') || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Network first; the cached copy only when the network cannot be reached at all. */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true })
      || (request.mode === 'navigate' ? await cache.match('index.html') : undefined);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.endsWith('.bpk')) return; // weights: see weights.js
  event.respondWith(networkFirst(event.request).then(isolated));
});
