// The explorer's settings: what to explain (method, layer, class, contrast) and how to show
// it (opacity, colours, normalisation, threshold, view). The controls edit one settings
// object; the URL fragment mirrors it so that a view can be shared and restored. No engine
// work happens here: changes are reported as 'explain' (needs the engine's map) or 'draw'
// (only the picture changes).

const $ = (id) => document.getElementById(id);

// What the page shows before the engine starts; the engine's own defaults (method, layer,
// colour map, opacity, scale, threshold, view) arrive with its catalogue and replace these.
export const DEFAULTS = Object.freeze({
  method: 'gradcam', layer: 'layer4', class: null, other: null,
  colormap: 'jet', opacity: 50, scale: 'minmax', max: null, threshold: 0, view: 'overlay', gridOf: 'methods',
});

// Fragment key for each setting (short, readable in a shared link).
const KEYS = {
  method: 'method', layer: 'layer', class: 'class', other: 'other', colormap: 'cmap', opacity: 'opacity',
  scale: 'scale', max: 'max', threshold: 'threshold', view: 'view', gridOf: 'grid',
};
const NUMERIC = new Set(['class', 'other', 'opacity', 'max', 'threshold']);
const EXPLAIN_KEYS = new Set(['method', 'layer', 'class', 'other']);

/** The settings and model named in the URL fragment (`#model=…&method=…`). */
export function readFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const settings = {};
  for (const [name, key] of Object.entries(KEYS)) {
    const value = params.get(key);
    if (value === null || value === '') continue;
    if (NUMERIC.has(name)) {
      const number = Number(value);
      if (Number.isFinite(number)) settings[name] = number;
    } else {
      settings[name] = value;
    }
  }
  return { model: params.get('model'), settings };
}

/** A class input's value ("Egyptian cat (285)", "285" or an exact name) as an index. */
export function parseClass(text, labels) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const numbered = /\((\d+)\)\s*$/.exec(trimmed) || /^(\d+)$/.exec(trimmed);
  if (numbered && Number(numbered[1]) < labels.length) return Number(numbered[1]);
  const index = labels.findIndex((l) => l.toLowerCase() === trimmed.toLowerCase());
  return index >= 0 ? index : undefined;
}

export const classText = (index, labels) => (index === null ? '' : `${labels[index]} (${index})`);

export class Explorer {
  /** `onChange(kind, changes, inputAt)` hears 'explain' or 'draw' after each user change. */
  constructor(onChange) {
    this.onChange = onChange;
    this.settings = { ...DEFAULTS };
    this.model = null;
    this.labels = [];
    this.layers = ['layer4'];
    this.shapes = new Map(); // layer → "h×w" seen in this session
    this.catalogue = null;
    this.defaults = DEFAULTS;
    this.methods = new Map(); // name → the engine's facts about the method
  }

  /** The engine's methods (with their facts), colour maps, class names and defaults: fills
   * the controls; settings still at a page default take the engine's. */
  setCatalogue(catalogue) {
    this.catalogue = catalogue;
    this.methods = new Map(catalogue.methods.map((m) => [m.name, m]));
    const defaults = { ...DEFAULTS, ...catalogue.defaults };
    for (const [name, value] of Object.entries(defaults)) {
      if (this.settings[name] === this.defaults[name]) this.settings[name] = value;
    }
    this.defaults = Object.freeze(defaults);
    $('method').replaceChildren(...catalogue.methods.map((m) => {
      const option = new Option(m.title, m.name);
      option.title = m.help;
      return option;
    }));
    $('colormap').replaceChildren(...catalogue.colormaps.map((c) => new Option(c, c)));
    this.setLabels(catalogue.labels);
  }

  /** The class names of the loaded model (the catalogue's ImageNet names until one is in). */
  setLabels(labels) {
    this.labels = labels;
    $('class-names').replaceChildren(...labels.map((label, i) => new Option(classText(i, labels))));
    this.showSettings();
  }

  /** The methods cheap enough for the grid (one pass each), in the catalogue's order. */
  gridMethods() {
    return [...this.methods.values()].filter((m) => m.grid).map((m) => m.name);
  }

  /** A method's name as its paper writes it. */
  methodTitle(name) {
    return this.methods.get(name)?.title ?? name;
  }

  /** The loaded model's layers, in network order (for the layer scrubber). */
  setLayers(layers) {
    this.layers = layers;
    this.shapes.clear();
    if (!layers.includes(this.settings.layer)) this.settings.layer = layers.includes('layer4') ? 'layer4' : layers.at(-1);
    $('layer').max = String(layers.length - 1);
    this.showSettings();
  }

  /** Applies settings from a fragment (unknown values fall back to the defaults). */
  restore(settings) {
    Object.assign(this.settings, settings);
    this.showSettings();
  }

  /** Changes settings as the user did: controls, fragment, then the owner is told.
   * `inputAt` is when the user's input happened (its event's `timeStamp`; now by default). */
  update(changes, inputAt = performance.now()) {
    Object.assign(this.settings, changes);
    this.showSettings();
    this.writeFragment();
    const explain = Object.keys(changes).some((k) => EXPLAIN_KEYS.has(k));
    this.onChange(explain ? 'explain' : 'draw', changes, inputAt);
  }

  /** What the engine is asked to explain. */
  explainSettings(overrides = {}) {
    const s = { ...this.settings, ...overrides };
    return { method: s.method, layer: s.layer, class: s.class, other: s.class === null ? null : s.other };
  }

  /** How the engine draws: `kind` is 'overlay', 'heatmap' or 'photo'. */
  viewSettings(kind = 'overlay') {
    const s = this.settings;
    return {
      kind, colormap: s.colormap, opacity: s.opacity / 100, scale: s.scale, max: s.max ?? undefined,
      threshold: s.threshold > 0 ? s.threshold / 100 : undefined,
    };
  }

  /** Remembers a layer's map size, shown next to the scrubber. */
  noteShape(layer, shape) {
    this.shapes.set(layer, shape.join('×'));
    this.showLayer();
  }

  writeFragment() {
    const params = new URLSearchParams();
    if (this.model) params.set('model', this.model);
    for (const [name, key] of Object.entries(KEYS)) {
      const value = this.settings[name];
      if (value !== null && value !== undefined && value !== this.defaults[name]) params.set(key, String(value));
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#${params}`);
  }

  showLayer() {
    const s = this.settings;
    const index = Math.max(0, this.layers.indexOf(s.layer));
    $('layer').value = String(index);
    const pixel = this.methods.get(s.method)?.pixel_space;
    $('layer').disabled = Boolean(pixel);
    const shape = this.shapes.get(s.layer);
    $('layer-out').textContent = pixel ? 'input pixels' : `${s.layer}${shape ? ` · ${shape} map` : ''}`;
    const method = this.methods.get(s.method);
    const stage = this.catalogue?.stage_help[s.layer.split('.')[0]];
    $('method-help').textContent = [method?.help, pixel ? null : stage].filter(Boolean).join(' ');
  }

  /** Puts the settings into the controls. */
  showSettings() {
    const s = this.settings;
    if (this.catalogue) {
      if (!this.methods.has(s.method)) s.method = this.defaults.method;
      if (!this.catalogue.colormaps.includes(s.colormap)) s.colormap = this.defaults.colormap;
    }
    if (s.class !== null && !(s.class >= 0 && s.class < (this.labels.length || 1000))) s.class = null;
    if (s.other !== null && !(s.other >= 0 && s.other < (this.labels.length || 1000))) s.other = null;
    s.opacity = Math.min(100, Math.max(0, Math.round(s.opacity)));
    s.threshold = Math.min(95, Math.max(0, Math.round(s.threshold)));
    if (!['minmax', 'absolute'].includes(s.scale)) s.scale = this.defaults.scale;
    if (!['overlay', 'side', 'swipe', 'grid'].includes(s.view)) s.view = this.defaults.view;
    if (!['methods', 'layers'].includes(s.gridOf)) s.gridOf = this.defaults.gridOf;
    $('method').value = s.method;
    this.showLayer();
    if (this.labels.length) {
      const search = $('class-search');
      if (document.activeElement !== search) search.value = classText(s.class, this.labels);
      const other = $('other-search');
      if (document.activeElement !== other) other.value = classText(s.other, this.labels);
    }
    $('opacity').value = String(s.opacity);
    $('opacity-out').textContent = `${s.opacity}%`;
    $('colormap').value = s.colormap;
    $('scale').value = s.scale;
    $('max-label').hidden = s.scale !== 'absolute';
    if (s.max !== null) $('scale-max').value = String(s.max);
    $('threshold').value = String(s.threshold);
    $('threshold-out').textContent = s.threshold ? `${s.threshold}%` : 'off';
    $('view').value = s.view;
    $('grid-label').hidden = s.view !== 'grid';
    $('grid-of').value = s.gridOf;
  }

  /** Wires every control to `update`. */
  wire() {
    const on = (id, event, read) => $(id).addEventListener(event, (e) => {
      const changes = read($(id));
      if (changes) this.update(changes, e.timeStamp);
    });
    on('method', 'change', (el) => ({ method: el.value }));
    on('layer', 'input', (el) => ({ layer: this.layers[Number(el.value)] }));
    const classInput = (key) => (el) => {
      const index = parseClass(el.value, this.labels);
      el.setCustomValidity(index === undefined ? 'Pick a class from the list' : '');
      if (index === undefined) { el.reportValidity(); return null; }
      el.value = classText(index, this.labels);
      return this.settings[key] === index ? null : { [key]: index };
    };
    on('class-search', 'change', classInput('class'));
    on('other-search', 'change', classInput('other'));
    on('opacity', 'input', (el) => ({ opacity: Number(el.value) }));
    on('colormap', 'change', (el) => ({ colormap: el.value }));
    on('scale', 'change', (el) => ({ scale: el.value }));
    on('scale-max', 'change', (el) => (Number(el.value) > 0 ? { max: Number(el.value) } : null));
    on('threshold', 'input', (el) => ({ threshold: Number(el.value) }));
    on('view', 'change', (el) => ({ view: el.value }));
    on('grid-of', 'change', (el) => ({ gridOf: el.value }));
    $('explorer').addEventListener('submit', (e) => e.preventDefault());
  }
}
