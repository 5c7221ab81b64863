// Page glue: events, downloads and DOM text. Decoding, the model, Grad-CAM and the
// overlay pixels all come from Rust (src/web); this file never computes a heatmap.

const $ = (id) => document.getElementById(id);
const canvas = $('overlay');
const statusLine = $('status');
const top5List = $('top5');
const caption = $('caption');

let app = null;          // wasm App, once created
let modelLoaded = null;  // promise resolved when weights are in
let generation = 0;      // bumped by every new photo or class request; older work is dropped
let queue = Promise.resolve();
let currentFile = null;

function setStatus(text, kind = 'info') {
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

function setCanvasState(state, cls) {
  canvas.dataset.state = state;
  if (cls === undefined) delete canvas.dataset.class;
  else canvas.dataset.class = String(cls);
}

function clearResult(message) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  top5List.replaceChildren();
  caption.textContent = message;
}

// Runs tasks one after another so that results always land in request order.
function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function wasmBindings() {
  if (window.wasmBindings) return Promise.resolve(window.wasmBindings);
  return new Promise((resolve) => {
    addEventListener('TrunkApplicationStarted', () => resolve(window.wasmBindings), { once: true });
  });
}

async function gpuAdapterName() {
  if (!('gpu' in navigator) || !navigator.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info || {};
    return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  } catch {
    return null;
  }
}

function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

async function download(url, expectedBytes, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || expectedBytes || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  if (expectedBytes && received !== expectedBytes) {
    throw new Error(`download of ${url} is incomplete: ${received} of ${expectedBytes} bytes`);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

async function loadModel() {
  const manifest = await (await fetch('weights/models.json')).json();
  const wanted = new URLSearchParams(location.search).get('model') || manifest.default;
  const model = manifest.models.find((m) => m.name === wanted);
  if (!model) throw new Error(`unknown model "${wanted}"`);
  const bar = $('download');
  bar.hidden = false;
  const bytes = await download(`weights/${model.file}`, model.bytes, (got, total) => {
    bar.max = total || 1;
    bar.value = got;
    const pct = total ? ` (${Math.floor((100 * got) / total)}%)` : '';
    setStatus(`Downloading ${model.label}: ${formatBytes(got)} of ${formatBytes(total)}${pct}`);
  });
  setStatus(`Loading ${model.label} into the engine…`);
  await nextFrame();
  const info = JSON.parse(app.loadWeights(bytes));
  bar.hidden = true;
  const note = $('model-note');
  if (!info.trained) {
    note.hidden = false;
    note.textContent = `${model.label} has untrained (random) weights: predictions and heatmaps are not meaningful yet.`;
  }
  document.body.dataset.model = model.name;
  return model;
}

function renderTop5(top5, chosen) {
  const items = top5.map((p) => {
    const li = document.createElement('li');
    li.dataset.testid = `class-${p.class}`;
    li.setAttribute('data-testid', `class-${p.class}`);
    if (p.class === chosen) li.setAttribute('aria-current', 'true');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${p.label} — ${(100 * p.prob).toFixed(2)}%`;
    button.title = `Explain class ${p.class}`;
    button.addEventListener('click', () => requestClass(p.class));
    li.append(button);
    return li;
  });
  top5List.replaceChildren(...items);
}

async function runExplain(cls, gen, name) {
  if (gen !== generation) return;
  setCanvasState('working');
  setStatus(`Computing Grad-CAM for ${name}…`);
  await nextFrame();
  const started = performance.now();
  let report;
  try {
    report = JSON.parse(await app.explain(cls ?? undefined));
  } catch (e) {
    if (gen !== generation) return;
    showError(`Could not explain ${name}: ${e.message || e}`);
    return;
  }
  if (gen !== generation) return;
  const evidence = app.draw(canvas);
  const ms = Math.round(performance.now() - started);
  renderTop5(report.top5, report.class);
  canvas.dataset.ms = String(ms);
  setCanvasState('ready', report.class);
  caption.textContent = `Grad-CAM at layer4 for “${report.label}” (class ${report.class}), ${canvas.width}×${canvas.height}.`;
  setStatus(evidence
    ? `Done in ${ms} ms: red marks where the network found evidence for “${report.label}”.`
    : `Done in ${ms} ms: no positive evidence for “${report.label}”; showing the plain photo.`);
}

function showError(message) {
  setCanvasState('error');
  clearResult('No heatmap.');
  setStatus(message, 'error');
}

function explainFile(file) {
  const gen = ++generation;
  currentFile = file;
  setCanvasState('working');
  setStatus(`Reading ${file.name}…`);
  enqueue(async () => {
    if (gen !== generation) return;
    if (!app || !modelLoaded) return;
    try {
      await modelLoaded;
    } catch {
      return; // the model error is already on screen
    }
    if (gen !== generation) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      const size = JSON.parse(app.setPhoto(bytes));
      caption.textContent = `${file.name}: ${size.width}×${size.height}`;
    } catch (e) {
      showError(`${file.name} is not a usable photo: ${e.message || e}`);
      return;
    }
    await runExplain(null, gen, file.name);
  });
}

function requestClass(cls) {
  if (!currentFile) return;
  const gen = ++generation;
  const name = currentFile.name;
  enqueue(() => runExplain(cls, gen, `${name}, class ${cls}`));
}

function wireInputs() {
  const input = $('photo-input');
  input.addEventListener('change', () => {
    if (input.files.length) explainFile(input.files[0]);
    input.value = '';
  });
  const hint = $('drop-hint');
  let depth = 0;
  document.addEventListener('dragenter', (e) => { e.preventDefault(); depth += 1; hint.hidden = false; });
  document.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) hint.hidden = true; });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    hint.hidden = true;
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) explainFile(file);
    else setStatus('That drop held no file: drop a photo file.', 'error');
  });
}

async function start() {
  wireInputs();
  const wasm = await wasmBindings();
  const adapter = await gpuAdapterName();
  app = await wasm.App.create(adapter !== null);
  const onGpu = app.backend.startsWith('webgpu');
  document.body.dataset.backend = onGpu ? 'webgpu' : 'cpu';
  $('backend').textContent = onGpu ? `Backend: WebGPU (${adapter})` : `Backend: ${app.backend.replace(/^cpu/, 'CPU')}`;
  modelLoaded = loadModel();
  try {
    const model = await modelLoaded;
    document.body.dataset.ready = 'true';
    if (currentFile === null) setStatus(`Ready: drop a photo to explain it with ${model.label}.`);
  } catch (e) {
    setStatus(`The model could not be loaded: ${e.message || e}. Reload the page to try again.`, 'error');
  }
  // A photo dropped while the model was loading is explained now.
  if (currentFile) explainFile(currentFile);
}

start().catch((e) => setStatus(`The app failed to start: ${e.message || e}`, 'error'));
