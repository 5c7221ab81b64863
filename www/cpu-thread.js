// One thread of the threaded build's CPU pool (worker.js starts them): it instantiates the
// engine's module on the engine's shared memory, says it is ready ({ ready } or { error }),
// then runs one of rayon's threads for as long as the engine lives. A trap in that thread is
// told to the page on the engine's BroadcastChannel: the engine's own worker is then blocked,
// waiting for this thread's share of the work.

import init, { runThread } from './threads/gradcam-web.js';

addEventListener('message', ({ data: { module, memory, faults } }) => {
  const page = new BroadcastChannel(faults);
  addEventListener('unhandledrejection', (e) => page.postMessage(`Uncaught ${e.reason}`));
  init({ module_or_path: module, memory }).then(() => {
    postMessage({ ready: true });
    runThread();
  }, (e) => postMessage({ error: String(e.message || e) }));
}, { once: true });
