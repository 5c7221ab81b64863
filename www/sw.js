// Offline support: after the first visit the app (page, scripts, wasm, model list, samples)
// is served from this cache when the network is unreachable. Online, every request goes to
// the network first, so a new version is picked up at once. Weights files are left alone:
// weights.js downloads them with progress and keeps verified copies in its own cache.

const CACHE = 'gradcam-web-app-v7';
const APP = [
  './', 'index.html', 'style.css', 'app.js', 'state.js', 'screen.js', 'lifecycle.js', 'models.js', 'photos.js',
  'drawing.js', 'readings.js', 'zoom.js', 'shortcuts.js', 'trust-check.js', 'ground-truth.js', 'explorer.js', 'views.js', 'exports.js', 'trust.js', 'plot.js', 'own-models.js', 'audit.js', 'audit-view.js', 'weights.js', 'engine.js', 'worker.js',
  'gradcam-web.js', 'gradcam-web_bg.wasm', 'weights/models.json', 'samples/samples.json',
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
  event.respondWith(networkFirst(event.request));
});
