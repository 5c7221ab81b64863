//! Browser glue: the only code that knows about JavaScript. Bytes in, JSON and canvas
//! pixels out; every decision lives in the engine.

mod backend;
mod canvas;

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::Promise;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::HtmlCanvasElement;

use crate::benchmark::{BenchPlan, run_benchmark};
use crate::cam::Target;
use crate::engine::{Explainer, Explanation};
use crate::imageio::{Photo, decode_photo};
use crate::model::Stage;
use crate::model::labels::imagenet_label;
use crate::render::{DEFAULT_PHOTO_WEIGHT, Normalized};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[derive(Default)]
struct State {
    explainer: Option<Rc<Explainer>>,
    photo: Option<Rc<Photo>>,
    explanation: Option<Explanation>,
}

/// The page's handle on the engine: one model, one photo, its latest explanation.
#[wasm_bindgen]
pub struct App {
    device: Device,
    backend: String,
    state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl App {
    /// Starts the engine on WebGPU when `try_gpu` is set and an adapter can be had,
    /// otherwise on the `flex` CPU backend.
    pub async fn create(try_gpu: bool) -> App {
        let (device, backend) = backend::select(try_gpu).await;
        App {
            device,
            backend,
            state: Rc::default(),
        }
    }

    /// `"webgpu"` or `"cpu"`, and why the CPU was chosen if it was.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Loads burnpack weights; returns `{"arch","classes","normalization","trained"}` as JSON.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: Vec<u8>) -> Result<String, JsError> {
        let mut state = self.state.borrow_mut();
        state.explainer = None;
        state.explanation = None;
        let explainer = Explainer::from_burnpack(bytes, &self.device)?;
        let info = explainer.info().clone();
        state.explainer = Some(Rc::new(explainer));
        Ok(json!({
            "arch": info.arch.name(),
            "classes": info.arch.num_classes(),
            "normalization": info.normalization,
            "trained": info.trained,
        })
        .to_string())
    }

    /// Forgets the loaded model (its weights were refused by the page after loading).
    #[wasm_bindgen(js_name = unloadWeights)]
    pub fn unload_weights(&self) {
        let mut state = self.state.borrow_mut();
        state.explainer = None;
        state.explanation = None;
    }

    /// What the device's allocator holds: `{"in_use","reserved","allocations"}` in bytes as
    /// JSON, each `null` where the backend does not report it (the CPU).
    #[wasm_bindgen(js_name = memoryStats)]
    pub fn memory_stats(&self) -> String {
        let usage = self.device.memory_pool_usage();
        json!({
            "in_use": usage.as_ref().map(|u| u.bytes_in_use),
            "reserved": usage.as_ref().map(|u| u.bytes_reserved),
            "allocations": usage.as_ref().map(|u| u.number_allocs),
        })
        .to_string()
    }

    /// Decodes a photo file (EXIF orientation applied); returns `{"width","height"}` as JSON.
    /// On failure the previous photo and explanation are cleared, never shown as current.
    #[wasm_bindgen(js_name = setPhoto)]
    pub fn set_photo(&self, bytes: &[u8]) -> Result<String, JsError> {
        let mut state = self.state.borrow_mut();
        state.photo = None;
        state.explanation = None;
        let photo = decode_photo(bytes)?;
        let size = json!({ "width": photo.width(), "height": photo.height() }).to_string();
        state.photo = Some(Rc::new(photo));
        Ok(size)
    }

    /// Computes Grad-CAM at `layer4` for `class` (or the top-1 class when absent).
    /// Resolves to `{"class","label","top5","cam_shape","timings_ms"}` as JSON.
    pub fn explain(&self, class: Option<u32>) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (explainer, photo, previous) = {
                let s = state.borrow();
                match (&s.explainer, &s.photo) {
                    (Some(e), Some(p)) => (e.clone(), p.clone(), s.explanation.clone()),
                    (None, _) => return Err(JsError::new("the model is not loaded yet").into()),
                    (_, None) => return Err(JsError::new("no photo to explain").into()),
                }
            };
            // Another class of the photo already explained: reuse its forward pass.
            let explanation = match (class, previous) {
                (Some(c), Some(previous)) => {
                    explainer
                        .explain_other_class(&photo, &previous, c as usize)
                        .await
                }
                (class, _) => {
                    let target = class.map_or(Target::TopClass, |c| Target::Class(c as usize));
                    explainer.explain(&photo, Stage::Layer4, target).await
                }
            }
            .map_err(|e| JsError::new(&e.to_string()))?;
            let report = json!({
                "class": explanation.cam.class,
                "label": imagenet_label(explanation.cam.class),
                "top5": explanation.top5,
                "cam_shape": [explanation.cam.height, explanation.cam.width],
                "timings_ms": explanation.timings,
            })
            .to_string();
            let mut s = state.borrow_mut();
            // A newer photo may have arrived while this one was computing: drop the result.
            if s.photo.as_ref().is_some_and(|p| Rc::ptr_eq(p, &photo)) {
                s.explanation = Some(explanation);
                Ok(JsValue::from_str(&report))
            } else {
                Err(JsError::new("superseded by a newer photo").into())
            }
        })
    }

    /// Times the forward pass, a full Grad-CAM and each stage on the current photo (see
    /// `benchmark`); resolves to the report as JSON.
    pub fn benchmark(&self, warmup: usize, runs: usize) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (explainer, photo) = {
                let s = state.borrow();
                match (&s.explainer, &s.photo) {
                    (Some(e), Some(p)) => (e.clone(), p.clone()),
                    _ => return Err(JsError::new("load a model and a photo first").into()),
                }
            };
            let report = run_benchmark(&explainer, &photo, BenchPlan { warmup, runs })
                .await
                .map_err(|e| JsError::new(&e.to_string()))?;
            Ok(JsValue::from_str(&json!(report).to_string()))
        })
    }

    /// Draws the latest explanation over the photo on `canvas`, at the photo's resolution.
    /// Returns `false` when the map had no positive evidence (the plain photo is drawn).
    pub fn draw(
        &self,
        canvas: &HtmlCanvasElement,
        photo_weight: Option<f32>,
    ) -> Result<bool, JsError> {
        let state = self.state.borrow();
        let (Some(photo), Some(explanation)) = (&state.photo, &state.explanation) else {
            return Err(JsError::new("nothing to draw yet"));
        };
        let overlay = explanation.overlay(photo, photo_weight.unwrap_or(DEFAULT_PHOTO_WEIGHT));
        canvas::put_rgba(canvas, &overlay.rgba, overlay.width, overlay.height)?;
        Ok(matches!(overlay.normalized, Normalized::Scaled { .. }))
    }
}
