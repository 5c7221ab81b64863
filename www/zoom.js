// Zoom and pan over the picture: buttons, Ctrl + wheel (a trackpad's pinch), a two-finger
// pinch on a touch screen, and dragging once zoomed. The views are scaled in place with a
// CSS transform, so the pictures keep the size the engine drew them at and the map read-out
// (which measures the canvas as shown) follows the pointer at any zoom.

const $ = (id) => document.getElementById(id);

const MAX_SCALE = 8;
const STEP = 1.25; // one button press or key

let scale = 1;
let x = 0; // translation in CSS pixels (≤ 0: the picture's left edge is at or left of the box's)
let y = 0;

/** Keeps the scaled views covering the box, then applies the transform. */
function apply() {
  const box = $('zoom');
  const views = $('views');
  scale = Math.min(MAX_SCALE, Math.max(1, scale));
  const [w, h] = [views.offsetWidth, views.offsetHeight];
  x = Math.min(0, Math.max(w - w * scale, x));
  y = Math.min(0, Math.max(h - h * scale, y));
  views.style.transform = scale === 1 ? '' : `translate(${x}px, ${y}px) scale(${scale})`;
  box.dataset.scale = scale.toFixed(3);
  if (scale > 1) box.dataset.zoomed = 'true'; else delete box.dataset.zoomed;
  $('zoom-level').textContent = `${Math.round(scale * 100)}%`;
}

/** Zooms by `factor` keeping the point (`px`, `py`) of the box (CSS pixels from its
 * top-left corner; default its centre) where it is. */
export function zoomBy(factor, px, py) {
  const box = $('zoom').getBoundingClientRect();
  const [cx, cy] = [px ?? box.width / 2, py ?? box.height / 2];
  const next = Math.min(MAX_SCALE, Math.max(1, scale * factor));
  x = cx - ((cx - x) * next) / scale;
  y = cy - ((cy - y) * next) / scale;
  scale = next;
  apply();
}

/** Back to the whole picture. */
export function resetZoom() {
  scale = 1;
  x = 0;
  y = 0;
  apply();
}

/** Shows the zoom controls while a picture view (not the grid) is on screen. */
export function showZoomControls(shown) {
  $('zoom-controls').hidden = !shown;
  if (!shown) resetZoom();
}

export function wireZoom() {
  const box = $('zoom');
  $('zoom-in').addEventListener('click', () => zoomBy(STEP));
  $('zoom-out').addEventListener('click', () => zoomBy(1 / STEP));
  $('zoom-reset').addEventListener('click', resetZoom);
  box.addEventListener('wheel', (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // a plain wheel scrolls the page
    e.preventDefault();
    const at = box.getBoundingClientRect();
    zoomBy(Math.exp(-e.deltaY / 300), e.clientX - at.left, e.clientY - at.top);
  }, { passive: false });
  // Pointers down on the picture: one drags (when zoomed), two pinch.
  const pointers = new Map();
  let pinch = null;
  const spread = () => {
    const [a, b] = [...pointers.values()];
    return { d: Math.hypot(a.x - b.x, a.y - b.y), cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2 };
  };
  box.addEventListener('pointerdown', (e) => {
    if (box.dataset.drawing === 'true') return; // ground-truth.js draws a box instead
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) pinch = spread();
    if (pointers.size === 1 && scale === 1) return;
    box.setPointerCapture(e.pointerId);
    box.dataset.panning = 'true';
  });
  box.addEventListener('pointermove', (e) => {
    const last = pointers.get(e.pointerId);
    if (!last) return;
    const now = { x: e.clientX, y: e.clientY };
    if (pointers.size === 2 && pinch) {
      pointers.set(e.pointerId, now);
      const next = spread();
      const at = box.getBoundingClientRect();
      if (pinch.d > 0) zoomBy(next.d / pinch.d, next.cx - at.left, next.cy - at.top);
      pinch = next;
    } else if (pointers.size === 1 && scale > 1) {
      x += now.x - last.x;
      y += now.y - last.y;
      pointers.set(e.pointerId, now);
      apply();
    } else {
      pointers.set(e.pointerId, now);
    }
  });
  const up = (e) => {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (!pointers.size) delete box.dataset.panning;
  };
  box.addEventListener('pointerup', up);
  box.addEventListener('pointercancel', up);
  apply();
}
