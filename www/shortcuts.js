// Keyboard shortcuts for the common actions, and the help overlay that lists them: one
// table, so the overlay always says what the keys do. Keys typed into a field are left alone.

import { explorer, state } from './state.js';
import { resetZoom, zoomBy } from './zoom.js';

const $ = (id) => document.getElementById(id);

const OPACITY_STEP = 10;

/** Moves the explained class along the top five by `step` (±1). */
function nextClass(step) {
  const top5 = state.shown?.report.top5;
  if (!top5?.length) return;
  const at = top5.findIndex((p) => p.class === state.shown.report.class);
  const next = top5[(at + step + top5.length) % top5.length];
  explorer.update({ class: next.class });
}

let shownOpacity = null; // the opacity to come back to when the overlay is toggled on

/** The shortcuts: the keys as a user types them (`KeyboardEvent.key`), how the help writes
 * them, and what they do; `actions` brings the page's own (photos). */
function table(actions) {
  const opacity = (v) => explorer.update({ opacity: Math.min(100, Math.max(0, v)) });
  return [
    { keys: ['ArrowRight', 'n'], shown: '→ or n', what: 'next photo in the strip', run: () => actions.nextPhoto(1) },
    { keys: ['ArrowLeft', 'p'], shown: '← or p', what: 'previous photo', run: () => actions.nextPhoto(-1) },
    { keys: ['c'], shown: 'c', what: 'next of the five classes', run: () => nextClass(1) },
    { keys: ['C'], shown: 'Shift + c', what: 'previous class', run: () => nextClass(-1) },
    {
      keys: ['o'], shown: 'o', what: 'heatmap off and on',
      run: () => {
        const now = explorer.settings.opacity;
        if (now > 0) { shownOpacity = now; opacity(0); } else opacity(shownOpacity || explorer.defaults.opacity);
      },
    },
    { keys: [']'], shown: ']', what: `heatmap opacity + ${OPACITY_STEP}%`, run: () => opacity(explorer.settings.opacity + OPACITY_STEP) },
    { keys: ['['], shown: '[', what: `heatmap opacity − ${OPACITY_STEP}%`, run: () => opacity(explorer.settings.opacity - OPACITY_STEP) },
    { keys: ['=', '+'], shown: '+', what: 'zoom in', run: () => zoomBy(1.25) },
    { keys: ['-'], shown: '−', what: 'zoom out', run: () => zoomBy(1 / 1.25) },
    { keys: ['0'], shown: '0', what: 'fit the picture', run: resetZoom },
    { keys: ['?'], shown: '?', what: 'this list', run: () => $('help').showModal() },
  ];
}

/** Whether a key press belongs to a field (typing a class name, moving a slider). */
const typing = (target) => target instanceof HTMLElement
  && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName));

export function wireShortcuts(actions) {
  const shortcuts = table(actions);
  $('shortcuts').replaceChildren(...shortcuts.flatMap(({ shown, what }) => {
    const key = document.createElement('dt');
    key.textContent = shown;
    const does = document.createElement('dd');
    does.textContent = what;
    return [key, does];
  }));
  $('help-open').addEventListener('click', () => $('help').showModal());
  $('help-close').addEventListener('click', () => $('help').close());
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
    if ($('help').open && e.key !== '?') return; // the dialog has the keyboard (Escape closes it)
    const shortcut = shortcuts.find(({ keys }) => keys.includes(e.key));
    if (!shortcut) return;
    e.preventDefault();
    shortcut.run();
  });
}
