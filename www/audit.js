// The folder audit's flow: a dropped or picked folder (or many photos) becomes a list of
// files; each is explained in the engine one after another with the method and layer on
// screen when the audit began (audit::audit_photo), Stop and Resume; the page keeps only
// what the engine returns for each photo (a row, its small map, a thumbnail) and re-reads a
// photo from its File when it is opened or exported. audit-view.js shows it.
//
// The rows live here, not in the engine, so an engine restart (a lost GPU, Stop in the
// explorer) loses nothing: the photo it was on is done again on the fresh engine.

import {
  gridQuery, makeCell, showGrid, showProgress, showSummary,
} from './audit-view.js';
import { download } from './exports.js';
import { showMemory } from './lifecycle.js';
import { $, setStatus } from './screen.js';
import { explorer, state } from './state.js';

const REFRESH_MS = 400; // the summary and grid are brought up to date at most this often
const ENGINE_TRIES = 2; // a photo that fails this many engines is marked failed
/** The trust metrics "score each map" computes per photo (session::TrustSettings). */
const SCORING = { metrics: ['deletion', 'insertion'], steps: 8 };

const audit = {
  /** { file: File, path } per photo, in path order; `names` their output names. */
  items: [],
  names: [],
  /** Per audited photo, in `items` order: the engine's row, { map, shape }, the grid cell. */
  rows: [],
  maps: [],
  cells: [],
  /** The model, explain settings, view and trust scoring the audit uses (those of its start). */
  model: null,
  settings: null,
  view: null,
  scoring: null,
  what: '',
  running: false,
  /** Bumped by a new audit: a loop of an older one stops. */
  generation: 0,
  /** Time spent auditing (Stop pauses it). */
  elapsedMs: 0,
  summary: null,
};

let openInExplorer = () => {};

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Files of a folder drop, walked from its entries (`webkitGetAsEntry`, taken during the
 * drop event): [{ file, path }]. */
async function walk(entries) {
  const found = [];
  const visit = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      found.push({ file, path: entry.fullPath.replace(/^\//, '') });
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      // readEntries answers in batches (100 in Chromium) until it answers none.
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await visit(child);
    }
  };
  for (const entry of entries) await visit(entry);
  return found;
}

/** A drop held folders (`entries`: the drop's FileSystemEntry objects): audit what they hold. */
export async function auditDroppedEntries(entries) {
  $('audit').scrollIntoView({ block: 'start' });
  $('audit-status').textContent = 'Reading the folder…';
  try {
    start(await walk(entries));
  } catch (e) {
    $('audit-status').textContent = `The folder could not be read: ${e.message || e}`;
  }
}

/** Starts a new audit of `files` ([{ file, path }]), replacing any other. */
async function start(files) {
  audit.generation += 1;
  audit.running = false;
  if (!state.loaded || !state.engine) {
    $('audit-status').textContent = 'The model is not loaded yet: choose the folder again once it is.';
    return;
  }
  let plan;
  try {
    plan = await state.engine.call('auditPlan', [files.map((f) => f.path)]);
  } catch (e) {
    $('audit-status').textContent = `The folder could not be audited: ${e.message || e}. Choose it again once the engine is ready.`;
    return;
  }
  if (!plan.photos.length) {
    $('audit-status').textContent = `No photos there (JPEG, PNG, GIF, WebP, BMP or TIFF): ${files.length} other files.`;
    return;
  }
  Object.assign(audit, {
    items: plan.photos.map((i) => files[i]),
    names: plan.names,
    rows: [],
    maps: [],
    cells: [],
    model: state.loaded,
    settings: explorer.explainSettings({ class: null, other: null }),
    view: explorer.viewSettings(),
    scoring: $('audit-score').checked ? SCORING : null,
    elapsedMs: 0,
    summary: null,
  });
  audit.what = `${explorer.methodTitle(audit.settings.method)} at ${audit.settings.layer}, ${audit.model.label}`;
  $('audit-grid').replaceChildren();
  $('audit-filter').hidden = false;
  $('audit-matrix').hidden = true;
  $('audit-accuracy').hidden = true;
  if (plan.skipped) setStatus(`Auditing ${plan.photos.length} photos; ${plan.skipped} files that are not photos are left out.`);
  run();
}

/** Explains the photos not done yet, one after another, until done or stopped. */
async function run() {
  const { generation } = audit;
  audit.running = true;
  showButtons();
  let since = performance.now();
  let lastRefresh = 0;
  const clock = () => { const now = performance.now(); audit.elapsedMs += now - since; since = now; };
  while (audit.running && generation === audit.generation && audit.rows.length < audit.items.length) {
    if (state.loaded !== audit.model && !state.loading && state.engine) {
      audit.running = false;
      clock();
      $('audit-status').textContent = `The model changed to ${state.loaded ? state.loaded.label : 'none'}: the audit with ${audit.model.label} stopped. Choose the folder again to audit it with this model.`;
      $('audit').dataset.state = 'stopped';
      showButtons(false);
      return;
    }
    const result = await auditNext(generation);
    if (generation !== audit.generation) return;
    if (!result) continue; // the engine is restarting: the same photo again
    add(result);
    clock();
    if (performance.now() - lastRefresh >= REFRESH_MS || audit.rows.length === audit.items.length) {
      lastRefresh = performance.now();
      await refresh();
    }
  }
  if (generation !== audit.generation) return;
  clock();
  audit.running = false;
  await refresh();
  showButtons();
}

/** Audits the next photo: its result, or null when the engine went away meanwhile (or is
 * not back yet) and it should be tried again. */
async function auditNext(generation) {
  const { engine } = state;
  if (!engine || state.loaded !== audit.model) {
    await sleep(200);
    return null;
  }
  const at = audit.rows.length;
  const item = audit.items[at];
  let bytes;
  try {
    bytes = new Uint8Array(await item.file.arrayBuffer());
  } catch (e) {
    return failedPhoto(item.path, `could not be read (${e.message || e})`);
  }
  try {
    return await engine.call('auditPhoto', [bytes, item.path, audit.settings, audit.view, audit.scoring], { transfer: [bytes.buffer] });
  } catch (e) {
    if (generation !== audit.generation) return null;
    if (engine !== state.engine || !state.engine) {
      // The engine failed or was replaced: this photo is done again on the next one.
      item.tries = (item.tries || 0) + 1;
      if (item.tries < ENGINE_TRIES) return null;
      return failedPhoto(item.path, `the engine failed on it (${e.message || e})`);
    }
    // The engine refused this photo (it answers bad photos with a failed row, so this is rare).
    return failedPhoto(item.path, e.message || String(e));
  }
}

/** A photo the engine gave no row for (unreadable, refused, or failing the engine), as
 * auditPhoto's result: a failed row (audit::AuditRow reads its absent fields as empty), no
 * map, no thumbnail. */
function failedPhoto(file, error) {
  return { row: { file, error }, map: new Float32Array(), shape: [0, 0], bitmap: null };
}

function add({ row, map, shape, bitmap }) {
  const index = audit.rows.length;
  audit.rows.push(row);
  audit.maps.push({ map, shape });
  audit.cells.push(makeCell(index, row, bitmap, () => open(index)));
  if (!$('audit-grid').dataset.filtered) $('audit-grid').append(audit.cells[index]);
}

/** The summary and the grid brought up to date. */
async function refresh() {
  const { engine } = state;
  if (!engine) return;
  const { generation } = audit;
  try {
    const summary = await engine.call('auditSummary', [audit.rows, audit.items.length, audit.elapsedMs]);
    if (generation !== audit.generation) return;
    audit.summary = summary;
    showSummary(summary);
    await regrid();
  } catch {
    return; // the engine is restarting: the next photo refreshes
  }
  showProgress({ done: audit.rows.length, total: audit.items.length, summary: audit.summary, running: audit.running, what: audit.what });
  showMemory();
  $('audit-zip').disabled = !audit.rows.some((r) => !r.error);
  $('audit-csv').disabled = $('audit-zip').disabled;
}

/** Orders the grid as its filter asks. */
async function regrid() {
  const query = gridQuery();
  const plain = query.show === 'all' && query.class === null && query.sort === 'found';
  const grid = $('audit-grid');
  if (plain) delete grid.dataset.filtered; else grid.dataset.filtered = 'true';
  const order = plain ? audit.rows.map((_, i) => i) : await state.engine.call('auditSelect', [audit.rows, query]);
  showGrid(audit.cells, order);
}

function showButtons(running = audit.running) {
  const unfinished = audit.rows.length < audit.items.length;
  $('audit-pause').hidden = !running;
  $('audit-resume').hidden = running || !unfinished || state.loaded !== audit.model;
}

/** Opens audited photo `index` in the explorer, with every control. */
function open(index) {
  openInExplorer(audit.items[index].file); // a File's name is the file's own, not its path
  $('dropzone').closest('.workspace').scrollIntoView({ block: 'start' });
}

/** The overlays at full resolution and the CSV (and the summary) in one ZIP, made entry by
 * entry by the engine from each photo's File and kept map. */
async function exportZip() {
  const { engine } = state;
  if (!engine) return;
  const button = $('audit-zip');
  button.disabled = true;
  const parts = [];
  try {
    await engine.call('exportStart');
    const explained = audit.rows.map((r, i) => i).filter((i) => !audit.rows[i].error);
    for (const [n, i] of explained.entries()) {
      $('audit-status').textContent = `Making the ZIP: overlay ${n + 1} of ${explained.length}…`;
      const bytes = new Uint8Array(await audit.items[i].file.arrayBuffer());
      const { map, shape: [h, w] } = audit.maps[i];
      parts.push(await engine.call('exportOverlay', [`overlays/${audit.names[i]}.png`, bytes, map, h, w, audit.view], { transfer: [bytes.buffer] }));
    }
    const text = (s) => new TextEncoder().encode(s);
    parts.push(await engine.call('exportFile', ['results.csv', text(await engine.call('auditCsv', [audit.rows]))]));
    parts.push(await engine.call('exportFile', ['summary.json', text(JSON.stringify({ what: audit.what, ...audit.summary }, null, 1))]));
    parts.push(await engine.call('exportFinish'));
    download(new Blob(parts, { type: 'application/zip' }), 'gradcam-audit.zip');
    $('audit-status').textContent = `Saved the ZIP: ${explained.length} overlays, results.csv and summary.json.`;
  } catch (e) {
    $('audit-status').textContent = `The ZIP could not be made: ${e.message || e}`;
  } finally {
    button.disabled = false;
  }
}

async function exportCsv() {
  if (!state.engine) return;
  const csv = await state.engine.call('auditCsv', [audit.rows]);
  download(new Blob([csv], { type: 'text/csv' }), 'gradcam-audit.csv');
}

/** Wires the audit's controls; `open(file)` shows a photo in the explorer. */
export function wireAudit({ open: openFile }) {
  openInExplorer = openFile;
  const picked = (input) => () => {
    const files = [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    input.value = '';
    if (files.length) start(files);
  };
  for (const id of ['audit-folder', 'audit-files']) $(id).addEventListener('change', picked($(id)));
  $('audit-pause').addEventListener('click', () => { audit.running = false; showButtons(false); });
  $('audit-resume').addEventListener('click', () => { if (!audit.running) run(); });
  $('audit-zip').addEventListener('click', exportZip);
  $('audit-csv').addEventListener('click', exportCsv);
  $('audit-filter').addEventListener('change', () => regrid().catch(() => {}));
  $('audit-filter').addEventListener('submit', (e) => e.preventDefault());
}
