// The page's one state, and the rule every engine reply is checked against.
//
// `epoch` counts changes of the map that should be on screen: a new photo, model or engine,
// or an explain setting (method, layer, class), bumps it (`nextEpoch`). Work notes the epoch
// it started in and shows its result only while `isCurrent(epoch)`; an older result is
// dropped without a word. Two kinds of work outlive an epoch, each for a reason:
// - a model download goes on while photos change: it is checked against `loading` (a newer
//   choice, Retry or an engine restart replaces it);
// - a redraw for a display setting (opacity, colours, view) keeps the epoch, so a trust check
//   of the same map survives it; a picture is shown only while the view settings it was
//   drawn for are still the ones wanted.
// The worker's supersede keys only save work (a queued request that a newer one replaces is
// never run); the engine drops by itself a result computed for a photo or model it no longer
// holds (session::Session::holds).

import { Explorer } from './explorer.js';

export const state = {
  epoch: 0,
  /** The strip: every photo of this session, { file, name, thumb, truth?, truthScored? }
   * (truth: the box drawn on it in photo pixels, ground-truth.js), oldest first. */
  strip: [],
  /** The strip entry on screen. */
  photo: null,
  /** The strip entry whose decoded photo the engine holds (null after a model change). */
  decoded: null,
  /** weights/models.json. */
  manifest: null,
  /** The manifest entry the picker asks for, and the one whose weights are in the engine. */
  chosen: null,
  loaded: null,
  /** The load in progress: { model, controller }. */
  loading: null,
  /** Why no model is loaded, when loading failed; why the picker shows another model. */
  modelError: null,
  pickerNote: '',
  /** engine.js handle (null while the engine starts or restarts). */
  engine: null,
  /** The long engine work running, for Stop and cancelling: { kind: 'explain'|'trust', since, timer }. */
  job: null,
  /** The explanation on screen: { epoch, report, drawn, view } (`drawn` and `view`, the
   * overlay's render info and view settings, once drawn). Replaced by every draw. */
  shown: null,
  /** The Trust panel's numbers for the map on screen, and what it says until the next map. */
  trust: null,
  trustNote: null,
  /** Whether a (re)loaded model explains the photo on screen (not after Stop). */
  redoAfterLoad: true,
  /** Engines lost to failures, and restarted to cancel long work, in this session. */
  failures: 0,
  cancels: 0,
};

/** The explorer's settings; app.js sets `explorer.onChange`. */
export const explorer = new Explorer(() => {});

/** A change of the map that should be on screen: older work is void. */
export function nextEpoch() {
  state.epoch += 1;
  return state.epoch;
}

/** Whether work started in `epoch` is still wanted. */
export const isCurrent = (epoch) => epoch === state.epoch;

/** Whether the explanation on screen is the one the current epoch asks for. */
export const shownIsCurrent = () => Boolean(state.shown) && isCurrent(state.shown.epoch);
