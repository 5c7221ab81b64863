// The Trust panel: shows the engine's TrustSummary (session::TrustSummary) for the map on
// screen — the deletion and insertion curves as a plot, and a table of the method's numbers
// beside the baselines'. Nothing is computed here but the drawing; which numbers there are,
// their labels, which way is better and what they mean come from the engine's catalogue
// (`metrics`: trust::Headline).

import { explorer } from './state.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

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
  if ($('trust-sanity').checked) metrics.push('randomisation', 'random-logit');
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
  $('trust-curves').hidden = true;
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
  fillTable(summary);
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
  const svg = $('trust-curves');
  const [left, top, width, height] = [40, 10, 260, 150];
  const parts = [];
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    parts.push(el);
    return el;
  };
  add('line', { x1: left, y1: top + height, x2: left + width, y2: top + height, class: 'axis' });
  add('line', { x1: left, y1: top, x2: left, y2: top + height, class: 'axis' });
  for (const t of [0, 0.5, 1]) {
    add('text', { x: left + t * width, y: top + height + 14, 'text-anchor': 'middle', class: 'tick' }, String(t));
    add('text', { x: left - 6, y: top + (1 - t) * height + 4, 'text-anchor': 'end', class: 'tick' }, String(t));
  }
  add('text', { x: left + width / 2, y: top + height + 30, 'text-anchor': 'middle', class: 'label' }, 'share of pixels removed (deletion) or added (insertion)');
  add('text', { x: 10, y: top + height / 2, transform: `rotate(-90 10 ${top + height / 2})`, 'text-anchor': 'middle', class: 'label' }, 'class probability');
  let legendY = top + 12;
  for (const [kind, css] of [['deletion', 'deletion'], ['insertion', 'insertion']]) {
    const curve = metrics[`${kind}_curve`];
    if (!curve) continue;
    const points = curve.map((p, i) => `${(left + (i / (curve.length - 1)) * width).toFixed(1)},${(top + (1 - p) * height).toFixed(1)}`);
    add('polyline', { points: points.join(' '), class: `curve ${css}`, 'data-curve': kind });
    add('text', { x: left + width - 4, y: legendY, 'text-anchor': 'end', class: `legend ${css}` }, `${kind} (AUC ${fmt(metrics[`${kind}_auc`])})`);
    legendY += 14;
  }
  svg.replaceChildren(...parts);
  svg.hidden = false;
}
