// Your own model: a PyTorch state dict picked in the "Your model…" dialog (or dropped on the
// page) is described by the engine ("ResNet-50, 7 classes") before anything is converted,
// then converted in the engine's worker with the normalisation and class names the user
// gives, kept in this browser's cache by its sha256 like the site's models, and listed in
// the model picker until removed. The file is only read here: nothing is uploaded.
// Describing and converting run in an engine of their own on the CPU, started for the dialog
// and closed after: a conversion needs a few times the checkpoint's size, and wasm memory
// is only given back with its worker.

import { startEngine } from './engine.js';
import { showPickerOptions } from './models.js';
import { $, setStatus } from './screen.js';
import { state } from './state.js';
import { forgetWeights, formatBytes, rememberWeights, sha256Hex } from './weights.js';

const LIST_KEY = 'gradcam-web.ownModels';
const CHANNELS = ['r', 'g', 'b'];

/** Whether a dropped file is a checkpoint (or a class-names file) rather than a photo. */
export const isCheckpoint = (file) => /\.(pth|pt|bin|ckpt)$/i.test(file.name || '');
const isLabels = (file) => /\.(txt|json)$/i.test(file.name || '');
export const isModelFile = (file) => isCheckpoint(file) || isLabels(file);

/** The own models this browser keeps: model-list entries with `own: true`. */
export function storedOwnModels() {
  try {
    const list = JSON.parse(localStorage.getItem(LIST_KEY) || '[]');
    return Array.isArray(list) ? list.filter((m) => m && m.own && m.sha256) : [];
  } catch {
    return [];
  }
}

function saveOwnModels() {
  localStorage.setItem(LIST_KEY, JSON.stringify(state.manifest.models.filter((m) => m.own)));
}

// The dialog's checkpoint: { file, report } once the engine described it.
let pending = null;

// The converter's engine (a promise), while the dialog needs it.
let converter = null;

const converterEngine = () => {
  converter ??= startEngine({ allowGpu: false });
  return converter;
};

function closeConverter() {
  const closing = converter;
  converter = null;
  if (closing) closing.then((engine) => engine.dispose(), () => {});
}

function showError(message) {
  const error = $('own-error');
  error.textContent = message;
  error.hidden = !message;
  if (message) setStatus(message, 'error');
}

function setNormalization({ mean, std }) {
  CHANNELS.forEach((c, i) => {
    $(`own-mean-${c}`).value = String(mean[i]);
    $(`own-std-${c}`).value = String(std[i]);
  });
}

const readNormalization = () => ({
  mean: CHANNELS.map((c) => Number($(`own-mean-${c}`).value)),
  std: CHANNELS.map((c) => Number($(`own-std-${c}`).value)),
});

/** Describes `file` in the engine; the dialog then offers to add it. */
async function inspect(file) {
  pending = null;
  $('own-add').disabled = true;
  showError('');
  const found = $('own-found');
  delete found.dataset.arch;
  delete found.dataset.classes;
  found.textContent = `Reading ${file.name}…`;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const report = await (await converterEngine()).call('inspectCheckpoint', [bytes, file.name]);
    pending = { file, report };
    found.textContent = `${file.name}: ${report.description}, ${formatBytes(file.size)} (${report.tensors} tensors).`;
    found.dataset.arch = report.arch;
    found.dataset.classes = String(report.classes);
    setNormalization(report.normalization);
    $('own-add').disabled = false;
  } catch (e) {
    closeConverter(); // a fresh one for the next file, should this one have failed
    found.textContent = `${file.name} cannot be used.`;
    showError(`${file.name} is not a checkpoint this page can use: ${e.message || e}`);
  }
}

/** Converts the described checkpoint, keeps it and hands it to `onAdded(model)`. */
async function add(onAdded) {
  if (!pending) return;
  const { file, report } = pending;
  $('own-add').disabled = true;
  showError('');
  const settings = { normalization: readNormalization() };
  const labelsFile = $('own-labels').files[0];
  if (labelsFile) settings.labels = { file: labelsFile.name, text: await labelsFile.text() };
  $('own-found').textContent = `Converting ${file.name} (${report.description})…`;
  let converted;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const engine = await converterEngine();
    converted = await engine.call('convertCheckpoint', [bytes, file.name, settings], { transfer: [bytes.buffer] });
    // What the conversion took (wasm memory only grows): the memory read-out of the dialog.
    $('own').dataset.converterBytes = String(engine.memory()?.wasmBytes ?? '');
  } catch (e) {
    closeConverter();
    $('own-add').disabled = false;
    $('own-found').textContent = `${file.name}: ${report.description}.`;
    showError(`${file.name} could not be converted: ${e.message || e}`);
    return;
  }
  const { weights, report: made } = converted;
  const sha256 = await sha256Hex(weights);
  const stem = file.name.replace(/\.[^.]+$/, '');
  const model = {
    name: `own-${sha256.slice(0, 12)}`,
    label: `${stem} (${made.title}, ${made.classes} classes)`,
    arch: made.arch,
    classes: made.classes,
    bytes: weights.length,
    sha256,
    trained: true,
    own: true,
    normalization: made.normalization,
  };
  await rememberWeights(model, weights);
  state.manifest.models = [...state.manifest.models.filter((m) => m.name !== model.name), model];
  saveOwnModels();
  showPickerOptions();
  $('own').close(); // which closes the converter
  pending = null;
  onAdded(model);
}

/** Forgets the own model on screen; `onRemoved()` then loads another. */
async function remove(onRemoved) {
  const model = state.chosen;
  if (!model || !model.own) return;
  await forgetWeights(model);
  state.manifest.models = state.manifest.models.filter((m) => m.name !== model.name);
  saveOwnModels();
  onRemoved(model);
}

/** Opens the dialog for dropped model files: the checkpoint described, a class-names file
 * chosen for it. */
export function offerModelFiles(files) {
  const checkpoint = files.find(isCheckpoint);
  const labels = files.find(isLabels);
  const dialog = $('own');
  if (!dialog.open) dialog.showModal();
  if (labels) {
    const list = new DataTransfer();
    list.items.add(labels);
    $('own-labels').files = list.files;
  }
  if (checkpoint) inspect(checkpoint);
}

/** Wires the dialog and the Remove button. */
export function wireOwnModels({ onAdded, onRemoved }) {
  $('own-open').addEventListener('click', () => $('own').showModal());
  $('own-cancel').addEventListener('click', () => $('own').close());
  $('own').addEventListener('close', () => closeConverter());
  $('own-file').addEventListener('change', () => {
    const file = $('own-file').files[0];
    if (file) inspect(file);
  });
  $('own-add').addEventListener('click', () => add(onAdded));
  $('own-remove').addEventListener('click', () => remove(onRemoved));
}
