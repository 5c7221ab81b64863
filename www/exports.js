// Saving what is on screen: the overlay as PNG at the photo's resolution and the raw map as
// a 16-bit PNG or .npy (made by the engine: the canvas holds only the display size), a JSON
// of the settings and the top-5, and the overlay on the clipboard. Everything is made here
// in the page: nothing is uploaded.

import { showMemory } from './lifecycle.js';
import { $, setStatus } from './screen.js';
import { explorer, state } from './state.js';

/** Offers `blob` as a download called `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `photo.jpg` → `photo-gradcam-layer4-285` (no characters a file system dislikes). */
export function baseName(fileName, settings, cls) {
  const stem = fileName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'photo';
  return `${stem}-${settings.method}-${settings.layer}-${cls}`.replace(/\+/g, 'pp');
}

/** Copies a PNG to the clipboard; `png` is a promise of its Blob (the clipboard takes it
 * while the user's click still counts). */
export async function copyPng(png) {
  if (!navigator.clipboard || !globalThis.ClipboardItem) {
    throw new Error('this browser cannot put images on the clipboard');
  }
  await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })]);
}

/** Wires the Save buttons to the explanation on screen (state.shown). */
export function wireSaving() {
  const name = () => baseName(state.photo.name, explorer.settings, state.shown.report.class);
  const fromEngine = (op, ext, type) => async () => {
    try {
      const bytes = await state.engine.call(op);
      download(new Blob([bytes], { type }), `${name()}.${ext}`);
      showMemory();
    } catch (e) {
      setStatus(`Could not save the map: ${e.message || e}`, 'error');
    }
  };
  // The overlay on screen, rendered again at the photo's resolution (streamed by the engine).
  const overlayPng = () => state.engine.call('overlayPng', [state.shown.view]);
  $('save-png').addEventListener('click', async () => {
    try {
      const { blob } = await overlayPng();
      download(blob, `${name()}.png`);
      showMemory();
    } catch (e) {
      setStatus(`Could not save the overlay: ${e.message || e}`, 'error');
    }
  });
  $('save-png16').addEventListener('click', fromEngine('mapPng16', 'map16.png', 'image/png'));
  $('save-npy').addEventListener('click', fromEngine('mapNpy', 'npy', 'application/octet-stream'));
  $('save-json').addEventListener('click', () => {
    const { report, drawn } = state.shown;
    const json = {
      photo: { name: state.photo.name, width: drawn.photo_width, height: drawn.photo_height },
      model: state.loaded.name,
      backend: state.engine.label,
      settings: { ...explorer.settings },
      explained: { class: report.class, label: report.label, other: report.other, other_label: report.other_label,
        method: report.method, layer: report.layer, map_shape: report.cam_shape, range: drawn.range, hot_box: drawn.hot_box },
      top5: report.top5,
      timings_ms: report.timings_ms,
      link: location.href,
    };
    download(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }), `${name()}.json`);
  });
  $('copy').addEventListener('click', async () => {
    try {
      const png = overlayPng();
      await copyPng(png.then((p) => p.blob));
      const { info } = await png;
      setStatus(`Copied the overlay (${info.width}×${info.height}) to the clipboard.`);
    } catch (e) {
      setStatus(`Could not copy the overlay: ${e.message || e}`, 'error');
    }
  });
}
