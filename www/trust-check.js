// Running the Trust panel's work for the map on screen in the engine: the check (its
// metrics and the baselines') and the method leaderboard, with progress and Stop, and
// saving the numbers. trust.js draws what comes back.

import { baseName, download } from './exports.js';
import { endJob, quiet, startJob } from './lifecycle.js';
import { $ } from './screen.js';
import { explorer, isCurrent, state } from './state.js';
import {
  boardWorking, clearTrust, labelOf, metricOf, showBoard, showTrust, trustSettings, trustWorking,
} from './trust.js';

const trustKey = (r) => `${r.method}|${r.layer}|${r.class}|${r.other ?? ''}`;
const boardKey = (r) => `${state.photo ? state.photo.name : ''}|${r.layer}|${r.class}|${r.other ?? ''}`;

/** A map `r` is on screen: the panel's numbers stay only if they are for the same map; the
 * leaderboard stays for the same photo, layer and class. */
export function mapShown(r) {
  if (state.trust && trustKey(state.trust) === trustKey(r)) return;
  state.trust = null;
  const prompt = 'Check how faithful this map is: the network is asked again with the photo changed where the map points.';
  clearTrust(state.trustNote ? `${state.trustNote} ${prompt}` : prompt, true, boardKey(r));
  state.trustNote = null;
}

/** Runs Trust panel work for the map on screen, with Stop: `body(engine, r, stillCurrent)`,
 * `stillCurrent()` telling whether its result is still for the map on screen and no newer
 * trust work replaced it. A failure empties the panel, naming `what` failed. */
async function trustWork(what, body) {
  const { engine, shown } = state;
  if (!shown || !engine) return;
  const { epoch, report: r } = shown;
  const job = startJob('trust');
  const stillCurrent = () => isCurrent(epoch) && state.shown?.report === r && state.job === job;
  try {
    await body(engine, r, stillCurrent);
  } catch (e) {
    // Stopped, the engine lost or the map gone: the page says so where that happened.
    if (!stillCurrent() || quiet(e, epoch)) return;
    clearTrust(`The ${what} failed: ${e.message || e}`, true);
  } finally {
    endJob(job);
  }
}

/** Scores the map on screen (Trust panel), with progress. */
function runTrust() {
  return trustWork('check', async (engine, r, stillCurrent) => {
    const started = performance.now();
    trustWorking();
    const summary = await engine.call('trust', [{ ...trustSettings(), photo: state.photo.name }], {
      supersede: 'trust',
      onProgress: (phase) => { if (stillCurrent()) trustWorking(phase); },
    });
    if (!stillCurrent()) return;
    state.trust = { ...summary, other: r.other };
    const what = `${explorer.methodTitle(summary.method)} at ${summary.layer} for ${r.label}`;
    showTrust(summary, what, performance.now() - started);
  });
}

/** Ranks every single-pass method (and the baselines) on this photo, class and layer by one
 * metric: each map is computed and scored in the engine, the one on screen is kept. */
function rankMethods() {
  return trustWork('ranking', async (engine, r, stillCurrent) => {
    const metric = $('board-metric').value;
    const metrics = [metricOf(metric)];
    const steps = Number($('trust-steps').value);
    const methods = explorer.gridMethods();
    const entries = [];
    for (const [i, method] of methods.entries()) {
      boardWorking(i, methods.length, explorer.methodTitle(method));
      const explain = { method, layer: explorer.settings.layer, class: r.class, other: r.other };
      const started = performance.now();
      const summary = await engine.call('trust', [{ metrics, steps, baselines: i === 0, explain }], { supersede: 'trust' });
      if (!stillCurrent()) return;
      let baselinesMs = 0;
      for (const [name, baseline] of Object.entries(summary.baselines)) {
        const time = Object.values(baseline.timings_ms).reduce((a, b) => a + b, 0);
        baselinesMs += time;
        entries.push({ map: name, title: name.replace(/^baseline-/, ''), score: baseline.metrics[metric], ms: time, baseline: true });
      }
      const ms = performance.now() - started - baselinesMs;
      entries.push({ map: method, title: explorer.methodTitle(method), score: summary.report.metrics[metric], ms });
    }
    showBoard(boardKey(r), entries, metric, (method) => explorer.update({ method }));
    $('trust-status').textContent = `Ranked ${methods.length} methods and ${entries.length - methods.length} baselines by ${labelOf(metric)} (${steps} steps).`;
    $('trust-run').disabled = false;
    $('board-run').disabled = false;
  });
}

export function wireTrust() {
  $('trust-run').addEventListener('click', () => runTrust());
  $('board-run').addEventListener('click', () => rankMethods());
  const name = () => baseName(state.photo.name, explorer.settings, state.trust.class);
  $('trust-save').addEventListener('click', () => {
    if (!state.trust || !state.photo) return;
    const json = { photo: state.photo.name, model: state.loaded && state.loaded.name, backend: state.engine && state.engine.label,
      settings: trustSettings(), ...state.trust, sanity: state.trust.sanity.map(({ bitmap, ...numbers }) => numbers) };
    download(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }), `${name()}-trust.json`);
  });
  // The engine's table, as `gradcam evaluate --csv` writes it.
  $('trust-csv').addEventListener('click', () => {
    if (!state.trust || !state.photo) return;
    download(new Blob([state.trust.csv], { type: 'text/csv' }), `${name()}-trust.csv`);
  });
}
