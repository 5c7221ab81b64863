// Saving what is on screen: the overlay as PNG at the photo's resolution and the raw map as
// a 16-bit PNG or .npy (made by the engine: the canvas holds only the display size), a JSON
// of the settings and the top-5, and the overlay on the clipboard. Everything is made here
// in the page: nothing is uploaded.

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
