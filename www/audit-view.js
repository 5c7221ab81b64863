// What the folder audit shows: its progress line, the accuracy, the confusion matrix, the
// class filter's options and the grid of overlay thumbnails. Numbers come from the engine
// (audit::AuditSummary); nothing here decides anything.

import { $ } from './screen.js';

const percent = (x) => `${(100 * x).toFixed(1)}%`;

/** "12 min 5 s" for a number of seconds. */
function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The progress line and bar: `running` says whether photos are being explained now. */
export function showProgress({ done, total, summary, running, what }) {
  const bar = $('audit-progress');
  bar.hidden = total === 0;
  bar.max = total || 1;
  bar.value = done;
  const pace = summary?.per_minute ? ` · ${summary.per_minute.toFixed(1)} photos/min` : '';
  const left = running && summary?.seconds_left ? ` · about ${duration(summary.seconds_left)} left` : '';
  const state = running ? 'Auditing' : done === total ? 'Audited' : 'Stopped at';
  $('audit-status').textContent = `${state} ${done} of ${total} photos with ${what}${pace}${left}.`;
  $('audit').dataset.state = running ? 'working' : done === total ? 'done' : 'stopped';
  $('audit').dataset.done = String(done);
}

/** The accuracy line, the confusion matrix and the class filter's options. */
export function showSummary(summary) {
  const line = $('audit-accuracy');
  const parts = [];
  if (summary.accuracy !== null) {
    parts.push(`Accuracy ${percent(summary.accuracy)}: ${summary.correct} of ${summary.with_expected} photos whose folder names a class.`);
  } else {
    parts.push('No folder names a class of this model, so no photo has an expected class: put each class in a subfolder named as the model names it.');
  }
  if (summary.unmatched_folders.length) {
    parts.push(`Folders that name no class: ${summary.unmatched_folders.join(', ')}.`);
  }
  if (summary.failed) parts.push(`${summary.failed} could not be explained.`);
  for (const score of summary.scores) {
    if (score.mean !== null) parts.push(`Mean ${score.label} ${score.mean.toFixed(3)} over ${score.maps} maps (${score.higher_is_better ? 'higher' : 'lower'} is better).`);
  }
  line.textContent = parts.join(' ');
  line.hidden = summary.done === 0;
  line.dataset.accuracy = summary.accuracy ?? '';
  showMatrix(summary);
  showClassOptions(summary.classes);
  showScoreOrders(summary.scores);
}

/** "worst … first" orders for the trust scores the audit holds. */
function showScoreOrders(scores) {
  const select = $('audit-sort');
  const chosen = select.value;
  for (const option of [...select.options]) if (option.value.startsWith('worst:')) option.remove();
  for (const score of scores) select.append(new Option(`worst ${score.label} first`, `worst:${score.metric}`));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : 'found';
}

function showMatrix({ classes, matrix }) {
  const table = $('audit-matrix');
  table.hidden = classes.length === 0;
  const cell = (tag, text, attrs = {}) => {
    const el = document.createElement(tag);
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  };
  const head = document.createElement('tr');
  head.append(cell('th', 'expected \\ predicted'), ...classes.map((c) => cell('th', c.label, { scope: 'col' })), cell('th', 'right', { scope: 'col' }));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...classes.filter((c) => c.photos > 0).map((c) => {
    const i = classes.indexOf(c);
    const row = document.createElement('tr');
    row.append(cell('th', c.label, { scope: 'row' }));
    row.append(...matrix[i].map((n, j) => cell('td', String(n), {
      class: i === j ? 'diagonal' : n ? 'confused' : '',
      'data-testid': `audit-matrix-${c.class}-${classes[j].class}`,
    })));
    row.append(cell('td', `${c.correct}/${c.photos}`));
    return row;
  }));
}

function showClassOptions(classes) {
  const select = $('audit-class');
  const chosen = select.value;
  select.replaceChildren(new Option('any', ''), ...classes.map((c) => new Option(c.label, String(c.class))));
  select.value = classes.some((c) => String(c.class) === chosen) ? chosen : '';
}

/** A grid cell for audited photo `index`: its thumbnail, predicted class and confidence,
 * and the expected class where known; `open()` hears a click. */
export function makeCell(index, row, bitmap, open) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.testid = `audit-cell-${index}`;
  button.title = row.file;
  const right = row.expected === null || row.error ? null : row.expected === row.top5[0].class;
  li.dataset.state = row.error ? 'failed' : right === null ? 'unknown' : right ? 'right' : 'wrong';
  const canvas = document.createElement('canvas');
  if (bitmap) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    bitmap.close();
  } else {
    canvas.width = 1;
    canvas.height = 1;
  }
  canvas.setAttribute('aria-hidden', 'true');
  const caption = document.createElement('span');
  caption.className = 'caption';
  if (row.error) {
    caption.textContent = `${name(row.file)}: ${row.error}`;
  } else {
    const top = row.top5[0];
    const expected = row.expected === null ? '' : right ? ' ✓' : ` ✗ (expected ${row.folder})`;
    caption.textContent = `${top.label} ${percent(top.prob)}${expected}`;
  }
  const scores = Object.entries(row.scores || {}).filter(([, v]) => v !== null);
  if (scores.length) {
    const line = document.createElement('span');
    line.className = 'scores';
    line.textContent = scores.map(([key, v]) => `${key.replace(/_auc$/, '')} ${v.toFixed(2)}`).join(' · ');
    caption.append(document.createElement('br'), line);
  }
  const file = document.createElement('span');
  file.className = 'file';
  file.textContent = name(row.file);
  button.append(canvas, caption, file);
  button.addEventListener('click', open);
  li.append(button);
  return li;
}

const name = (path) => path.slice(path.lastIndexOf('/') + 1);

/** Shows `cells[i]` for each index of `order`, in that order. */
export function showGrid(cells, order) {
  $('audit-grid').replaceChildren(...order.map((i) => cells[i]).filter(Boolean));
  $('audit-shown').textContent = `${order.length} of ${cells.length} shown`;
}

/** The grid's filter and order as audit::AuditQuery. */
export function gridQuery() {
  const show = $('audit-show').value;
  $('audit-below-label').hidden = show !== 'unsure';
  const cls = $('audit-class').value;
  return {
    show,
    class: cls === '' ? null : Number(cls),
    below: Number($('audit-below').value) / 100,
    sort: $('audit-sort').value,
  };
}
