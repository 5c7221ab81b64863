// The Trust panel: shows the engine's TrustSummary (session::TrustSummary) for the map on
// screen — the deletion and insertion curves and ROAD per percentile as plots, the
// sanity-check strip (the engine's pictures with their similarity), and a table of the
// method's numbers beside the baselines'. Nothing is computed here but the drawing; which numbers there are,
// their labels, which way is better and what they mean come from the engine's catalogue
// (`metrics`: trust::Headline).

import { explorer } from './state.js';
import { plot } from './plot.js';
import { showBitmap } from './views.js';

const $ = (id) => document.getElementById(id);

/** The headline numbers: [{ metric, key, label, higher_is_better, scores_a_map, help }]. */
const headlines = () => explorer.catalogue?.metrics ?? [];
const headline = (key) => headlines().find((h) => h.key === key);
const better = (h) => `${h.higher_is_better ? 'higher' : 'lower'} is better`;

/** Fills the leaderboard's metric choice and the help list from the catalogue. */
export function showMetricFacts() {
  $('board-metric').replaceChildren(...headlines().filter((h) => h.scores_a_map).map((h) => {
    const option = document.createElement('option');
    option.value = h.key;
    option.textContent = h.label;
    return option;
  }));
  $('trust-help').replaceChildren(...headlines().flatMap((h) => {
    const term = document.createElement('dt');
    term.textContent = `${h.label} (${better(h)})`;
    const meaning = document.createElement('dd');
    meaning.textContent = h.help;
    return [term, meaning];
  }));
}

/** The metric name a request asks for to get the headline number `key`, and its label. */
export const metricOf = (key) => headline(key)?.metric;
export const labelOf = (key) => headline(key)?.label ?? key;

/** What the panel's controls ask for: the engine's TrustSettings. */
export function trustSettings() {
  const metrics = ['deletion', 'insertion', 'confidence'];
  if ($('trust-road').checked) metrics.push('road');
  if ($('trust-sanity').checked) metrics.push('randomisation', 'cascading-randomisation', 'random-logit');
  return { metrics, steps: Number($('trust-steps').value), baselines: $('trust-baselines').checked };
}


/** Shows the leaderboard for `key` (photo, layer and class): `entries` [{ map, title, score,
 * ms, baseline }] ranked by score; picking a method row calls `onPick(name)`. */
export function showBoard(key, entries, metric, onPick) {
  const higher = headline(metric)?.higher_is_better ?? false;
  const ranked = [...entries].sort((a, b) => {
    const [x, y] = [a.score ?? (higher ? -Infinity : Infinity), b.score ?? (higher ? -Infinity : Infinity)];
    return higher ? y - x : x - y;
  });
  const rows = ranked.map((entry, i) => {
    const tr = document.createElement('tr');
    tr.dataset.map = entry.map;
    if (entry.score !== null && entry.score !== undefined) tr.dataset.value = String(entry.score);
    const name = document.createElement('td');
    if (entry.baseline) {
      name.textContent = `${entry.title} (baseline)`;
    } else {
      const pick = document.createElement('button');
      pick.type = 'button';
      pick.textContent = entry.title;
      pick.title = `Show ${entry.title}`;
      pick.addEventListener('click', () => onPick(entry.map));
      name.append(pick);
    }
    tr.append(cell('td', String(i + 1)), name, cell('td', fmt(entry.score)), cell('td', `${Math.round(entry.ms)} ms`));
    return tr;
  });
  const board = $('board');
  board.tBodies[0].replaceChildren(...rows);
  board.dataset.state = 'ready';
  board.dataset.metric = metric;
  board.dataset.for = key;
  board.hidden = false;
}

/** Marks the leaderboard as being computed, `done` of `total` maps. */
export function boardWorking(done, total, name) {
  const board = $('board');
  board.dataset.state = 'working';
  $('board-run').disabled = true;
  $('trust-run').disabled = true;
  $('trust-status').textContent = `Ranking… ${done} of ${total} maps${name ? ` (${name})` : ''}`;
}

/** Empties the panel; `message` says why (and whether it can be run). The leaderboard stays
 * when it is for `keepBoardFor` (another method of the same photo, layer and class). */
export function clearTrust(message, canRun, keepBoardFor = null) {
  const panel = $('trust');
  panel.dataset.state = 'idle';
  delete panel.dataset.for;
  $('trust-status').textContent = message;
  $('trust-run').disabled = !canRun;
  $('board-run').disabled = !canRun;
  $('truth-draw').disabled = !canRun;
  const board = $('board');
  if (keepBoardFor === null || board.dataset.for !== keepBoardFor) {
    board.hidden = true;
    board.dataset.state = 'idle';
    delete board.dataset.for;
  }
  $('trust-save').disabled = true;
  $('trust-csv').disabled = true;
  // SVG elements have no `hidden` property: the attribute hides them.
  $('trust-curves').setAttribute('hidden', '');
  $('trust-road-plot').setAttribute('hidden', '');
  $('sanity-strip').hidden = true;
  $('sanity-strip-pictures').replaceChildren();
  $('trust-table').hidden = true;
}

/** Marks the panel as computing; `phase` is the engine's latest progress. */
export function trustWorking(phase) {
  $('trust').dataset.state = 'working';
  $('trust-run').disabled = true;
  $('trust-status').textContent = phase ? `Checking… ${phase}` : 'Checking…';
}

const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(3));

/** Shows `summary` (for `what`, e.g. "Grad-CAM at layer4 for tabby"), taking `ms`. */
export function showTrust(summary, what, ms) {
  const panel = $('trust');
  panel.dataset.state = 'ready';
  panel.dataset.for = `${summary.method}|${summary.layer}|${summary.class}`;
  $('trust-run').disabled = false;
  $('board-run').disabled = false;
  $('trust-save').disabled = false;
  $('trust-csv').disabled = false;
  $('trust-status').textContent = `Checked ${what} in ${(ms / 1000).toFixed(1)} s.`;
  drawCurves(summary.report.metrics);
  drawRoad(summary.report.metrics);
  drawStrip(summary.sanity);
  fillTable(summary);
}

/** The sanity-check strip: each picture the engine drew (the map under test first), with
 * its similarity to that map. */
function drawStrip(pictures) {
  const figures = pictures.map((p, i) => {
    const figure = document.createElement('figure');
    figure.dataset.label = p.label;
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', i === 0 ? 'The map under test' : `The map with ${p.label}`);
    showBitmap(canvas, p.bitmap);
    const caption = document.createElement('figcaption');
    caption.append(p.label);
    if (i > 0) {
      figure.dataset.spearman = String(p.spearman ?? NaN);
      figure.dataset.ssim = String(p.ssim ?? NaN);
      const numbers = document.createElement('span');
      numbers.className = 'similarity';
      numbers.textContent = `Spearman ${fmt(p.spearman)} · SSIM ${fmt(p.ssim)}`;
      caption.append(document.createElement('br'), numbers);
    }
    figure.append(canvas, caption);
    return figure;
  });
  $('sanity-strip-pictures').replaceChildren(...figures);
  $('sanity-strip').hidden = figures.length === 0;
}

function fillTable(summary) {
  const columns = [[summary.method, summary.report], ...Object.entries(summary.baselines)];
  const head = document.createElement('tr');
  head.append(cell('th', 'metric', 'col'), ...columns.map(([name]) => cell('th', name, 'col')));
  const shown = headlines().filter((h) => columns.some(([, r]) => h.key in r.metrics));
  const rows = shown.map((h) => {
    const { key, higher_is_better: higher } = h;
    const tr = document.createElement('tr');
    tr.dataset.metric = key;
    tr.append(cell('th', `${h.label} (${better(h)})`, 'row'));
    const values = columns.map(([, r]) => r.metrics[key]);
    const known = values.filter((v) => typeof v === 'number');
    const best = known.length > 1 ? (higher ? Math.max(...known) : Math.min(...known)) : null;
    columns.forEach(([name], i) => {
      const td = cell('td', fmt(values[i]));
      td.dataset.map = name;
      if (typeof values[i] === 'number') td.dataset.value = String(values[i]);
      if (best !== null && values[i] === best) td.classList.add('best');
      tr.append(td);
    });
    return tr;
  });
  const table = $('trust-table');
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = false;
}

function cell(tag, text, scope) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (scope) el.scope = scope;
  return el;
}

/** The deletion and insertion curves: class probability against the share of pixels. */
function drawCurves(metrics) {
  const series = ['deletion', 'insertion'].filter((kind) => metrics[`${kind}_curve`]).map((kind) => {
    const curve = metrics[`${kind}_curve`];
    return {
      name: kind,
      css: kind,
      points: curve.map((p, i) => [i / (curve.length - 1), p]),
      legend: `${kind} (AUC ${fmt(metrics[`${kind}_auc`])})`,
    };
  });
  plot($('trust-curves'), {
    xs: [0, 1, [0, 0.5, 1]],
    ys: [0, 1, [0, 0.5, 1]],
    xLabel: 'share of pixels removed (deletion) or added (insertion)',
    yLabel: 'class probability',
    series,
  });
}

/** ROAD per percentile: the class probability's change with the pixels above the map's
 * percentile imputed (most relevant first) or those below its mirror (least relevant
 * first), the averages in the legend. Hidden when ROAD was not asked. */
function drawRoad(metrics) {
  const svg = $('trust-road-plot');
  const percentiles = metrics.road_percentiles;
  if (!percentiles) {
    svg.setAttribute('hidden', '');
    return;
  }
  const values = [...metrics.road_morf, ...metrics.road_lerf].filter(Number.isFinite);
  const reach = Math.max(0.1, ...values.map(Math.abs));
  const top = Math.ceil(reach * 10) / 10;
  const series = [['road_morf', 'morf', 'most relevant first'], ['road_lerf', 'lerf', 'least relevant first']].map(([key, css, words]) => ({
    name: key,
    css,
    points: percentiles.map((p, i) => [p, metrics[key][i]]),
    legend: `${words} (mean ${fmt(metrics[`${key}_average`])})`,
  }));
  plot(svg, {
    xs: [0, 100, [0, 50, 100]],
    ys: [-top, top, [-top, 0, top]],
    xLabel: `percentile of the map (ROAD combined ${fmt(metrics.road_combined)})`,
    yLabel: 'change in class probability',
    series,
  });
}
