// Photos: the strip of this session's photos, and every way one arrives (the file input,
// a drop anywhere on the page, a paste, the sample gallery). File names reach the page as
// text, never HTML. Which photo to show is app.js's call: `onShow(entry)`.

import { isCheckpoint, isModelFile, offerModelFiles } from './own-models.js';
import { $, setStatus } from './screen.js';
import { state } from './state.js';

const STRIP_SIZE = 24; // photos kept in the strip (the oldest leaves first)

/** Shows the strip, the photo on screen marked; `onShow(entry)` hears a click on another. */
export function showStrip(onShow) {
  const list = $('strip');
  list.hidden = state.strip.length < 2;
  list.replaceChildren(...state.strip.map((entry, i) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.testid = `strip-${i}`;
    button.title = entry.name;
    if (entry === state.photo) button.setAttribute('aria-current', 'true');
    const img = document.createElement('img');
    img.src = entry.thumb;
    img.alt = '';
    const label = document.createElement('span');
    label.textContent = entry.name;
    button.append(img, label);
    button.addEventListener('click', () => { if (entry !== state.photo) onShow(entry); });
    li.append(button);
    return li;
  }));
}

/** Adds files to the strip; returns the first new entry. */
function addToStrip(files) {
  const entries = files.map((file) => ({ file, name: file.name || 'pasted image', thumb: URL.createObjectURL(file) }));
  state.strip.push(...entries);
  while (state.strip.length > STRIP_SIZE) URL.revokeObjectURL(state.strip.shift().thumb);
  return entries[0];
}

/** The files of a FileList (absent on drops and pastes that carry none). */
const filesOf = (list) => [...(list || [])];

/** Wires the file input, drops, pastes and the sample gallery: new photos join the strip
 * and the first of them goes to `onShow(entry)`; a dropped checkpoint goes to the "Your
 * model" dialog; a dropped folder, or anything dropped on the audit panel, goes to
 * `onFolder(entries)` (the drop's FileSystemEntry objects). Returns `add(files)`, which
 * shows photo files as a pick would. */
export function wirePhotos(onShow, onFolder) {
  const add = (files) => onShow(addToStrip(files));
  // The file picker, and on a touch screen the camera (a picker with `capture`).
  for (const input of [$('photo-input'), $('camera-input')]) {
    input.addEventListener('change', () => {
      const files = filesOf(input.files);
      if (files.length) add(files);
      input.value = '';
    });
  }
  // While files are dragged over the page, the drop zone lights up and a hint covers it all.
  let depth = 0;
  const dragging = (on) => {
    $('drop-hint').hidden = !on;
    if (on) document.body.dataset.dragging = 'true'; else delete document.body.dataset.dragging;
  };
  document.addEventListener('dragenter', (e) => { e.preventDefault(); depth += 1; dragging(true); });
  document.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) dragging(false); });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    dragging(false);
    // Entries can only be had during the event: a folder, or a drop on the audit panel, is audited.
    const entries = [...(e.dataTransfer?.items || [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    if (entries.length && (entries.some((entry) => entry.isDirectory) || e.target.closest?.('#audit'))) {
      onFolder(entries);
      return;
    }
    const files = filesOf(e.dataTransfer && e.dataTransfer.files);
    // A checkpoint (with its class names) opens the "Your model" dialog; photos join the strip.
    const forModel = files.some(isCheckpoint) || $('own').open ? files.filter(isModelFile) : [];
    const photos = files.filter((f) => !forModel.includes(f));
    if (forModel.length) offerModelFiles(forModel);
    if (photos.length) add(photos);
    else if (!files.length) setStatus('That drop held no file: drop a photo file.', 'error');
  });
  document.addEventListener('paste', (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return; // typing a class name
    const files = filesOf(e.clipboardData && e.clipboardData.files);
    e.preventDefault();
    if (files.length) add(files.map((f) => (f.name ? f : new File([f], 'pasted image', { type: f.type }))));
    else setStatus('The clipboard holds no image to explain.', 'error');
  });
  fillGallery(add);
  return add;
}

async function fillGallery(add) {
  let samples;
  try {
    const response = await fetch('samples/samples.json');
    if (!response.ok) return;
    ({ samples } = await response.json());
  } catch {
    return; // offline before the first visit finished: the gallery stays empty
  }
  $('gallery').replaceChildren(...samples.map((sample) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sample';
    button.dataset.testid = `sample-${sample.file}`;
    button.title = `${sample.label} (${sample.credit})`;
    const img = document.createElement('img');
    img.src = `samples/${sample.file}`;
    img.alt = sample.label;
    button.append(img);
    button.addEventListener('click', async () => {
      try {
        const response = await fetch(`samples/${sample.file}`);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const blob = await response.blob();
        add([new File([blob], sample.file, { type: blob.type })]);
      } catch (e) {
        setStatus(`The sample ${sample.label} could not be read: ${e.message || e}`, 'error');
      }
    });
    return button;
  }));
}
