//! Browser glue: the only code that knows about JavaScript. It runs inside a Web Worker
//! (`www/worker.js`): bytes and JSON settings in; JSON reports and `ImageBitmap`s out. Every
//! decision lives in the engine and the renderer.

mod backend;
mod canvas;
mod settings;

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Array, Function, Promise};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_time::Instant;

use crate::adapter::AdapterInfo;
use crate::benchmark::{BenchPlan, run_benchmark};
use crate::cam::Method;
use crate::display::{
    DisplayPhotos, Fit, photo_display, render_display, write_map_png16, write_overlay_png,
};
use crate::engine::{Explainer, Explanation, elapsed_ms};
use crate::imageio::{Photo, decode_photo, write_npy_f32};
use crate::model::labels::imagenet_label;
use crate::model::{Stage, StagedClassifier};
use crate::render::{Colormap, map_value_at};
use settings::{ExplainSettings, ViewSettings};

/// Explanations kept per photo, so that going back to a method, layer or class is instant.
const CACHED_EXPLANATIONS: usize = 24;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[derive(Default)]
struct State {
    explainer: Option<Rc<Explainer>>,
    photo: Option<Rc<Photo>>,
    /// The photo at the sizes it is shown.
    photos: DisplayPhotos,
    /// The explanation on screen.
    explanation: Option<Explanation>,
    /// Earlier explanations of the same photo with the same model, oldest first.
    cache: Vec<Explanation>,
}

impl State {
    fn forget_photo(&mut self) {
        self.explanation = None;
        self.cache.clear();
    }

    fn remember(&mut self, explanation: &Explanation) {
        self.cache.retain(|e| e.request != explanation.request);
        if self.cache.len() == CACHED_EXPLANATIONS {
            self.cache.remove(0);
        }
        self.cache.push(explanation.clone());
    }
}

/// The engine as the page sees it: one model, one photo, its explanations.
#[wasm_bindgen]
pub struct App {
    device: Device,
    backend: String,
    state: Rc<RefCell<State>>,
}

/// What the page needs to know about a WebGPU adapter, from its `GPUAdapterInfo` fields as
/// JSON (`vendor`, `architecture`, `device`, `description`, `isFallbackAdapter`): returns
/// `{"name","software"}` (see `adapter`: a software rasteriser is not preferred over the CPU).
#[wasm_bindgen(js_name = describeAdapter)]
pub fn describe_adapter(info: &str) -> String {
    let info: AdapterInfo = serde_json::from_str(info).unwrap_or_default();
    json!({ "name": info.name(), "software": info.is_software() }).to_string()
}

/// The methods, colour maps (with their 256-entry RGB tables) and class names, as JSON:
/// `{"methods","colormaps","colormap_tables","labels"}`.
#[wasm_bindgen]
pub fn catalogue() -> String {
    json!({
        "methods": Method::ALL.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "colormaps": Colormap::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "colormap_tables": Colormap::ALL
            .iter()
            .map(|c| (c.name(), c.table().to_vec()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "labels": (0..1000).map(imagenet_label).collect::<Vec<_>>(),
    })
    .to_string()
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

    /// Loads burnpack weights; returns `{"arch","classes","normalization","trained","layers"}`
    /// as JSON, `layers` in network order (`stem`, `layer1.0`, …, `layer1`, …, `layer4`).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: Vec<u8>) -> Result<String, JsError> {
        let mut state = self.state.borrow_mut();
        state.explainer = None;
        state.forget_photo();
        let explainer = Explainer::from_burnpack(bytes, &self.device)?;
        let info = explainer.info().clone();
        let model = explainer.model();
        let layers: Vec<String> = Stage::ALL
            .iter()
            .filter(|s| **s != Stage::Head)
            .flat_map(|&stage| {
                let blocks = (0..model.block_count(stage)).map(move |i| format!("{stage}.{i}"));
                blocks.chain(std::iter::once(stage.to_string()))
            })
            .collect();
        state.explainer = Some(Rc::new(explainer));
        Ok(json!({
            "arch": info.arch.name(),
            "classes": info.arch.num_classes(),
            "normalization": info.normalization,
            "trained": info.trained,
            "layers": layers,
        })
        .to_string())
    }

    /// Forgets the loaded model (its weights were refused by the page after loading).
    #[wasm_bindgen(js_name = unloadWeights)]
    pub fn unload_weights(&self) {
        let mut state = self.state.borrow_mut();
        state.explainer = None;
        state.forget_photo();
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

    /// Decodes a photo file (EXIF orientation applied); returns `{"width","height","decode_ms"}`
    /// as JSON. On failure the previous photo and explanations are cleared, never shown as
    /// current.
    #[wasm_bindgen(js_name = setPhoto)]
    pub fn set_photo(&self, bytes: &[u8]) -> Result<String, JsError> {
        let mut state = self.state.borrow_mut();
        state.photo = None;
        state.photos.clear();
        state.forget_photo();
        let start = Instant::now();
        let photo = decode_photo(bytes).inspect_err(|e| {
            if let Some(detail) = e.detail() {
                web_sys::console::warn_1(&format!("decoder: {detail}").into());
            }
        })?;
        let report = json!({
            "width": photo.width(),
            "height": photo.height(),
            "decode_ms": elapsed_ms(start),
        });
        state.photo = Some(Rc::new(photo));
        Ok(report.to_string())
    }

    /// Explains the photo as `settings` asks (see `ExplainSettings`), reusing what is cached:
    /// an identical earlier request, or (Grad-CAM/HiResCAM at `layer4`) the activations of
    /// any class, or any earlier result's activations at the requested layer (the forward
    /// pass up to it is skipped). `on_phase(name)` is called as each phase starts. Resolves to
    /// `{"class","other","label","top5","cam_shape","layer","method","timings_ms","reused",
    /// "note"}`, `note` saying where the map departs from pytorch-grad-cam (else `null`).
    pub fn explain(&self, settings: String, on_phase: Option<Function>) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (explanation, reused) = explain_cached(&state, &settings, on_phase).await?;
            let report = report(&explanation, reused);
            state.borrow_mut().explanation = Some(explanation);
            Ok(JsValue::from_str(&report))
        })
    }

    /// Explains the photo as `settings` asks without changing the explanation on screen,
    /// and renders it with `view`: resolves to `[ImageBitmap, report JSON]` (a grid cell).
    #[wasm_bindgen(js_name = explainCell)]
    pub fn explain_cell(&self, settings: String, view: String) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (explanation, reused) = explain_cached(&state, &settings, None).await?;
            let photo = current_photo(&state)?;
            let (bitmap, drawn) = {
                let mut s = state.borrow_mut();
                draw(&mut s.photos, &photo, Some(&explanation), &view)?
            };
            let report = report(&explanation, reused);
            Ok(Array::of2(&bitmap, &JsValue::from_str(&format!("[{report},{drawn}]"))).into())
        })
    }

    /// Renders the explanation on screen (or the plain photo) with `view` settings (see
    /// `ViewSettings`) at the size it is shown in the view's `box` (device pixels): returns
    /// `[ImageBitmap, JSON]`, the JSON being `{"width","height","photo_width","photo_height",
    /// "range","flat","hot_box","render_ms","pixels_ms"}` (`hot_box` in photo pixels;
    /// `pixels_ms` the part of `render_ms` before the bitmap is made).
    pub fn render(&self, view: String) -> Result<Array, JsError> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        let photo = state
            .photo
            .clone()
            .ok_or_else(|| JsError::new("no photo to draw"))?;
        let (bitmap, drawn) = draw(&mut state.photos, &photo, state.explanation.as_ref(), &view)?;
        Ok(Array::of2(&bitmap, &JsValue::from_str(&drawn)))
    }

    /// The raw (not normalised) map value under pixel `(x, y)` of a `width × height`
    /// picture of the photo, upsampled as drawn at full resolution: `{"x","y","value"}` as
    /// JSON, `x, y` being the photo pixel under that picture pixel's centre.
    #[wasm_bindgen(js_name = valueAt)]
    pub fn value_at(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    ) -> Result<Option<String>, JsError> {
        let state = self.state.borrow();
        let (Some(photo), Some(explanation)) = (&state.photo, &state.explanation) else {
            return Ok(None);
        };
        let size = (photo.width(), photo.height());
        let fit = Fit::of_picture(size, (width, height))?;
        let (px, py) = fit.photo_pixel(x, y);
        let cam = &explanation.cam;
        let value = map_value_at(&cam.map, (cam.height, cam.width), size, px, py);
        Ok(Some(
            json!({ "x": px, "y": py, "value": value }).to_string(),
        ))
    }

    /// The overlay on screen with `view` settings at the photo's full resolution, as a PNG
    /// streamed to `on_chunk(Uint8Array)` a megabyte at a time (never held whole here);
    /// returns `{"width","height","hot_box","save_ms"}` as JSON.
    #[wasm_bindgen(js_name = overlayPng)]
    pub fn overlay_png(&self, view: String, on_chunk: Function) -> Result<String, JsError> {
        let start = Instant::now();
        let state = self.state.borrow();
        let (Some(photo), Some(explanation)) = (&state.photo, &state.explanation) else {
            return Err(JsError::new("nothing explained yet"));
        };
        let view: ViewSettings =
            serde_json::from_str(&view).map_err(|e| JsError::new(&format!("bad view: {e}")))?;
        let options = view.options().map_err(|e| JsError::new(&e))?;
        let cam = &explanation.cam;
        let saved = write_overlay_png(
            ChunkSink::new(on_chunk),
            &photo.rgb,
            &cam.map,
            (cam.height, cam.width),
            &options,
        )?;
        Ok(json!({
            "width": saved.width,
            "height": saved.height,
            "hot_box": saved.hot_box,
            "save_ms": elapsed_ms(start),
        })
        .to_string())
    }

    /// The map on screen at the photo's resolution, min-max normalised, as a 16-bit PNG
    /// streamed to `on_chunk(Uint8Array)` as `overlayPng` does.
    #[wasm_bindgen(js_name = mapPng16)]
    pub fn map_png16(&self, on_chunk: Function) -> Result<(), JsError> {
        let state = self.state.borrow();
        let (Some(photo), Some(explanation)) = (&state.photo, &state.explanation) else {
            return Err(JsError::new("nothing explained yet"));
        };
        let cam = &explanation.cam;
        let size = (photo.width(), photo.height());
        write_map_png16(
            ChunkSink::new(on_chunk),
            &cam.map,
            (cam.height, cam.width),
            size,
        )?;
        Ok(())
    }

    /// The raw map on screen at its own resolution (`[h, w]` float32) as a `.npy` file.
    #[wasm_bindgen(js_name = mapNpy)]
    pub fn map_npy(&self) -> Result<Vec<u8>, JsError> {
        let state = self.state.borrow();
        let explanation = state
            .explanation
            .as_ref()
            .ok_or_else(|| JsError::new("nothing explained yet"))?;
        let cam = &explanation.cam;
        Ok(write_npy_f32(&[cam.height, cam.width], &cam.map))
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
}

fn current_photo(state: &Rc<RefCell<State>>) -> Result<Rc<Photo>, JsError> {
    state
        .borrow()
        .photo
        .clone()
        .ok_or_else(|| JsError::new("no photo to explain"))
}

/// The explanation `settings` asks for: from the cache, by re-targeting a cached result, or
/// computed. Returns it with how it was obtained: `"cache"`, `"activations"` (re-targeted),
/// `"layer"` (computed from cached activations at its layer) or `"none"`.
async fn explain_cached(
    state: &Rc<RefCell<State>>,
    settings: &str,
    on_phase: Option<Function>,
) -> Result<(Explanation, &'static str), JsValue> {
    let settings: ExplainSettings =
        serde_json::from_str(settings).map_err(|e| JsError::new(&format!("bad settings: {e}")))?;
    let request = settings.request().map_err(|e| JsError::new(&e))?;
    let (explainer, photo, cached, retarget, layer_reads) = {
        let s = state.borrow();
        let explainer = s
            .explainer
            .clone()
            .ok_or_else(|| JsError::new("the model is not loaded yet"))?;
        let photo = s
            .photo
            .clone()
            .ok_or_else(|| JsError::new("no photo to explain"))?;
        let cached = s.cache.iter().find(|e| e.request == request).cloned();
        let retarget = s
            .cache
            .iter()
            .rev()
            .find(|e| {
                e.retargets_cheaply()
                    && e.request.method == request.method
                    && e.request.layers == request.layers
            })
            .cloned();
        // Any result that read the request's (first) layer spares the forward pass up to it.
        let layer_reads = s.cache.iter().rev().find_map(|e| {
            e.cached_activations()
                .filter(|a| request.layers.first() == Some(&a.layer))
        });
        (explainer, photo, cached, retarget, layer_reads)
    };
    let (explanation, reused) = if let Some(cached) = cached {
        (cached, "cache")
    } else if let Some(previous) = retarget {
        let e = explainer
            .explain_other_target(&photo, &previous, request.target)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
        (e, "activations")
    } else {
        let report = |phase: crate::cam::Phase| {
            if let Some(f) = &on_phase {
                let _ = f.call1(&JsValue::NULL, &JsValue::from_str(phase.name()));
            }
        };
        let e = explainer
            .explain_reusing(&photo, request, layer_reads.as_ref(), &report)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
        (
            e,
            if layer_reads.is_some() {
                "layer"
            } else {
                "none"
            },
        )
    };
    let mut s = state.borrow_mut();
    // A newer photo or model may have arrived meanwhile: drop this result.
    let same_photo = s.photo.as_ref().is_some_and(|p| Rc::ptr_eq(p, &photo));
    let same_model = s
        .explainer
        .as_ref()
        .is_some_and(|e| Rc::ptr_eq(e, &explainer));
    if !(same_photo && same_model) {
        return Err(JsError::new("superseded by a newer photo or model").into());
    }
    s.remember(&explanation);
    Ok((explanation, reused))
}

fn report(explanation: &Explanation, reused: &str) -> String {
    let cam = &explanation.cam;
    json!({
        "class": cam.class,
        "other": cam.other,
        "label": imagenet_label(cam.class),
        "other_label": cam.other.map(imagenet_label),
        "top5": explanation.top5,
        "cam_shape": [cam.height, cam.width],
        "layer": cam.layer.to_string(),
        "method": cam.method.name(),
        "timings_ms": explanation.timings,
        "reused": reused,
        "note": cam.deviation.map(|d| d.to_string()),
    })
    .to_string()
}

/// Renders `explanation` (or the plain photo) with the `view` JSON at the size its box
/// shows it; returns the bitmap and a JSON description of what was drawn.
fn draw(
    photos: &mut DisplayPhotos,
    photo: &Photo,
    explanation: Option<&Explanation>,
    view: &str,
) -> Result<(web_sys::ImageBitmap, String), JsError> {
    let start = Instant::now();
    let view: ViewSettings =
        serde_json::from_str(view).map_err(|e| JsError::new(&format!("bad view: {e}")))?;
    let target = view.target().map_err(|e| JsError::new(&e.to_string()))?;
    let size = |fit: Fit| {
        json!({
            "width": fit.display.0,
            "height": fit.display.1,
            "photo_width": fit.photo.0,
            "photo_height": fit.photo.1,
        })
    };
    let drawn = match explanation {
        Some(explanation) if !view.is_photo() => {
            let options = view.options().map_err(|e| JsError::new(&e))?;
            let cam = &explanation.cam;
            let shape = (cam.height, cam.width);
            let out = render_display(photos, &photo.rgb, &cam.map, shape, &options, target);
            let pixels_ms = elapsed_ms(start);
            let bitmap = canvas::rgba_to_bitmap(&out.view.rgba, out.view.width, out.view.height)?;
            let mut info = size(out.fit);
            info["range"] = json!(out.view.range.map(|(lo, hi)| [lo, hi]));
            info["flat"] = json!(out.view.range.is_none());
            info["hot_box"] = json!(out.hot_box);
            info["render_ms"] = json!(elapsed_ms(start));
            info["pixels_ms"] = json!(pixels_ms);
            (bitmap, info.to_string())
        }
        None if !view.is_photo() => return Err(JsError::new("nothing explained yet")),
        _ => {
            let (fit, rgba) = photo_display(photos, &photo.rgb, target);
            let bitmap = canvas::rgba_to_bitmap(&rgba, fit.display.0, fit.display.1)?;
            let mut info = size(fit);
            info["render_ms"] = json!(elapsed_ms(start));
            (bitmap, info.to_string())
        }
    };
    Ok(drawn)
}

/// A PNG on its way to JavaScript: bytes are handed to `on_chunk` a megabyte at a time.
struct ChunkSink {
    buffer: Vec<u8>,
    on_chunk: Function,
}

impl ChunkSink {
    const CHUNK: usize = 1 << 20;

    fn new(on_chunk: Function) -> Self {
        ChunkSink {
            buffer: Vec::with_capacity(Self::CHUNK),
            on_chunk,
        }
    }
}

impl std::io::Write for ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = js_sys::Uint8Array::from(self.buffer.as_slice());
        self.buffer.clear();
        self.on_chunk
            .call1(&JsValue::NULL, &chunk)
            .map(|_| ())
            .map_err(|_| std::io::Error::other("the page refused a chunk of the PNG"))
    }
}

impl Drop for ChunkSink {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}
