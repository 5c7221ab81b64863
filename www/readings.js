// What the page says in words about the explanation on screen: the predictions as bars (any
// one a click away), a plain-language caption, a warning when the map explains a guess or
// shows nothing, the details line and the timings. The sentences come from the engine's
// report (`summary`, `doubt`, `note`) and catalogue (`colormap_strongest`); nothing here
// decides what a map means.

import { $ } from './screen.js';
import { explorer, state } from './state.js';

export const targetText = (r) => (r.other === null || r.other === undefined
  ? `“${r.label}” (class ${r.class})` : `“${r.label}” rather than “${r.other_label}” (classes ${r.class} − ${r.other})`);

/** The five most likely classes as labelled bars; the explained one is marked, each is a
 * button that explains it. */
export function showPredictions(top5, chosenClass) {
  const items = top5.map((p) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', `class-${p.class}`);
    const button = document.createElement('button');
    button.type = 'button';
    button.title = `Explain class ${p.class}`;
    if (p.class === chosenClass) button.setAttribute('aria-current', 'true');
    const percent = `${(100 * p.prob).toFixed(1)}%`;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = p.label;
    const value = document.createElement('span');
    value.className = 'percent';
    value.textContent = percent;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.setProperty('--share', `${(100 * p.prob).toFixed(2)}%`);
    bar.append(fill);
    button.append(label, value, bar);
    button.addEventListener('click', (e) => explorer.update({ class: p.class }, e.timeStamp));
    li.append(button);
    return li;
  });
  $('top5').replaceChildren(...items);
}

/** The caption, the warning and the details line for report `r` drawn as `drawn`. */
export function describeShown(r, drawn) {
  const { settings } = explorer;
  const strongest = explorer.catalogue.colormap_strongest[settings.colormap];
  const shows = drawn.flat
    ? `${r.summary}: none found, so the plain photo is shown.`
    : `${r.summary}; ${strongest} marks the strongest.`;
  $('caption').textContent = shows;
  const warnings = [r.doubt, r.note].filter(Boolean);
  $('warning').textContent = warnings.join(' ');
  $('warning').hidden = !warnings.length;
  $('details').textContent = `${state.loaded.label} · ${r.cam_shape.join('×')} map · `
    + `${drawn.photo_width}×${drawn.photo_height} photo`;
}

export function timingsText(r, drawn, decodeMs, drawMs) {
  const parts = [];
  if (decodeMs !== null) parts.push(`decode ${Math.round(decodeMs)} ms`);
  if (r.reused === 'cache' || r.reused === 'activations') {
    parts.push(r.reused === 'cache' ? 'map from cache' : 'map from cached activations');
  } else {
    if (r.reused === 'layer') parts.push(`forward up to ${r.layer} reused`);
    parts.push(`preprocess ${Math.round(r.timings_ms.preprocess_ms)} ms`);
    const order = ['forward', 'backward', 'perturb', 'map'];
    const phases = Object.entries(r.timings_ms.phases_ms).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    for (const [phase, ms] of phases) parts.push(`${phase} ${Math.round(ms)} ms`);
  }
  const pixels = drawn.pixels_ms === undefined ? '' : `, pixels ${Math.round(drawn.pixels_ms)} ms`;
  parts.push(`draw ${Math.round(drawMs)} ms (render ${Math.round(drawn.render_ms)} ms in the engine${pixels}, `
    + `${drawn.width}×${drawn.height})`);
  return `${parts.join(' · ')} on ${state.engine ? state.engine.label : 'the engine'}`;
}
