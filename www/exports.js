// Saving what is on screen: the overlay as PNG at the photo's resolution, the raw map as a
// 16-bit PNG or .npy (bytes made by the engine), a JSON of the settings and the top-5, and
// the overlay on the clipboard. Everything is made here in the page: nothing is uploaded.

/** The overlay canvas as a PNG blob (the canvas holds the photo's full resolution). */
export function canvasPng(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the canvas is empty'))), 'image/png');
  });
}

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

/** Copies the overlay PNG to the clipboard. */
export async function copyPng(canvas) {
  if (!navigator.clipboard || !globalThis.ClipboardItem) {
    throw new Error('this browser cannot put images on the clipboard');
  }
  await navigator.clipboard.write([new ClipboardItem({ 'image/png': canvasPng(canvas) })]);
}
