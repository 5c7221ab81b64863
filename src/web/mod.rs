//! Browser glue: the only code that knows about JavaScript. It runs inside a Web Worker
//! (`www/worker.js`): bytes and JSON settings in; JSON reports and `ImageBitmap`s out. Every
//! decision lives in the session (`crate::session`), the engine and the renderer; this file
//! only converts.

mod audit;
mod backend;
mod canvas;
#[cfg(feature = "threads")]
mod threads;

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Array, Function, Promise};
use serde::Serialize;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_time::Instant;

use crate::adapter::AdapterInfo;
use crate::benchmark::{BenchPlan, run_benchmark, time_forward};
use crate::cam::Phase;
use crate::engine::{Explainer, elapsed_ms};
use crate::render::HotBox;
use crate::session::{
    self, DrawReport, Drawn, ExplainSettings, Session, SessionError, TrustSettings, ViewSettings,
};
use crate::trust::TrustPhase;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The engine as the page sees it: one device and one session.
#[wasm_bindgen]
pub struct App {
    device: Device,
    backend: String,
    session: Rc<RefCell<Session>>,
}

/// What the page needs to know about a WebGPU adapter, from its `GPUAdapterInfo` fields as
/// JSON (`vendor`, `architecture`, `device`, `description`, `isFallbackAdapter`): returns
/// `{"name","software"}` (see `adapter`: a software rasteriser is not preferred over the CPU).
#[wasm_bindgen(js_name = describeAdapter)]
pub fn describe_adapter(info: &str) -> String {
    let info: AdapterInfo = serde_json::from_str(info).unwrap_or_default();
    json!({ "name": info.name(), "software": info.is_software() }).to_string()
}

/// The methods with their facts, colour maps (with their 256-entry RGB tables), class names
/// and the settings' defaults, as JSON (see `session::catalogue`).
#[wasm_bindgen]
pub fn catalogue() -> String {
    session::catalogue().to_string()
}

/// What the PyTorch state dict `bytes` (the file `name`) holds, without converting it:
/// `session::CheckpointReport` as JSON.
#[wasm_bindgen(js_name = inspectCheckpoint)]
pub fn inspect_checkpoint(bytes: &[u8], name: &str) -> Result<String, JsError> {
    let report =
        session::inspect_checkpoint(bytes, name).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(to_json(&report))
}

/// Converts the PyTorch state dict `bytes` (the file `name`) as `settings` say (see
/// `session::OwnModelSettings`): `[burnpack bytes (Uint8Array), CheckpointReport JSON]`.
#[wasm_bindgen(js_name = convertCheckpoint)]
pub fn convert_checkpoint(bytes: &[u8], name: &str, settings: &str) -> Result<Array, JsError> {
    let error = |e: session::OwnModelError| JsError::new(&e.to_string());
    let settings = session::OwnModelSettings::parse(settings).map_err(error)?;
    let (weights, report) = session::convert_own_model(bytes, name, &settings).map_err(error)?;
    let weights = js_sys::Uint8Array::from(weights.as_slice());
    Ok(Array::of2(&weights, &JsValue::from_str(&to_json(&report))))
}

/// A session error as a JavaScript `Error` (decoder details go to the console).
fn js_error(e: SessionError) -> JsError {
    if let SessionError::Decode(decode) = &e
        && let Some(detail) = decode.detail()
    {
        web_sys::console::warn_1(&format!("decoder: {detail}").into());
    }
    JsError::new(&e.to_string())
}

fn to_json(report: &impl Serialize) -> String {
    serde_json::to_string(report).expect("reports serialise")
}

/// The drawn picture as a bitmap and its report, `render_ms` counted from `start` to the
/// bitmap.
fn to_bitmap(drawn: Drawn, start: Instant) -> Result<(web_sys::ImageBitmap, DrawReport), JsError> {
    let Drawn { rgba, mut report } = drawn;
    let bitmap = canvas::rgba_to_bitmap(&rgba, report.width, report.height)?;
    report.render_ms = elapsed_ms(start);
    Ok((bitmap, report))
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
            session: Rc::default(),
        }
    }

    /// `"webgpu"` or `"cpu"`, and why the CPU was chosen if it was.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Loads burnpack weights; returns the `session::ModelReport` as JSON.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: Vec<u8>) -> Result<String, JsError> {
        let mut session = self.session.borrow_mut();
        session.unload_model();
        let explainer = Explainer::from_burnpack(bytes, &self.device)?;
        Ok(to_json(&session.load_model(explainer)))
    }

    /// Forgets the loaded model (its weights were refused by the page after loading).
    #[wasm_bindgen(js_name = unloadWeights)]
    pub fn unload_weights(&self) {
        self.session.borrow_mut().unload_model();
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

    /// Decodes a photo file; returns the `session::PhotoReport` as JSON.
    #[wasm_bindgen(js_name = setPhoto)]
    pub fn set_photo(&self, bytes: &[u8]) -> Result<String, JsError> {
        let report = self
            .session
            .borrow_mut()
            .set_photo(bytes)
            .map_err(js_error)?;
        Ok(to_json(&report))
    }

    /// Explains the photo as `settings` asks (see `ExplainSettings`) and puts it on screen;
    /// `on_phase(name)` is called as each phase starts. Resolves to the
    /// `session::ExplainReport` as JSON.
    pub fn explain(&self, settings: String, on_phase: Option<Function>) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let progress = |phase: Phase| {
                if let Some(f) = &on_phase {
                    let _ = f.call1(&JsValue::NULL, &JsValue::from_str(phase.name()));
                }
            };
            let served = serve(&session, &settings, &progress).await?;
            session.borrow_mut().show(served.explanation);
            Ok(JsValue::from_str(&to_json(&served.report)))
        })
    }

    /// Explains the photo as `settings` asks without changing the explanation on screen,
    /// and renders it with `view`: resolves to `[ImageBitmap, "[explain report, draw
    /// report]"]` (a grid cell).
    #[wasm_bindgen(js_name = explainCell)]
    pub fn explain_cell(&self, settings: String, view: String) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let served = serve(&session, &settings, &|_| {}).await?;
            let start = Instant::now();
            let view = ViewSettings::parse(&view).map_err(|e| js_error(e.into()))?;
            let drawn = session
                .borrow_mut()
                .render_aside(&served.explanation, &view)
                .map_err(js_error)?;
            let (bitmap, report) = to_bitmap(drawn, start)?;
            let both = format!("[{},{}]", to_json(&served.report), to_json(&report));
            Ok(Array::of2(&bitmap, &JsValue::from_str(&both)).into())
        })
    }

    /// Renders the explanation on screen (or the plain photo) with `view` settings (see
    /// `ViewSettings`) at the size it is shown in the view's `box` (device pixels): returns
    /// `[ImageBitmap, session::DrawReport JSON]`.
    pub fn render(&self, view: String) -> Result<Array, JsError> {
        let start = Instant::now();
        let view = ViewSettings::parse(&view).map_err(|e| js_error(e.into()))?;
        let drawn = self.session.borrow_mut().render(&view).map_err(js_error)?;
        let (bitmap, report) = to_bitmap(drawn, start)?;
        Ok(Array::of2(&bitmap, &JsValue::from_str(&to_json(&report))))
    }

    /// The raw (not normalised) map value under pixel `(x, y)` of a `width × height`
    /// picture of the photo, with its share of the colour scale of `view`:
    /// `session::ValueAt` as JSON, or nothing before an explanation.
    #[wasm_bindgen(js_name = valueAt)]
    pub fn value_at(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        view: String,
    ) -> Result<Option<String>, JsError> {
        let view = ViewSettings::parse(&view).map_err(|e| js_error(e.into()))?;
        let value = self
            .session
            .borrow()
            .value_at((x, y), (width, height), &view)
            .map_err(js_error)?;
        Ok(value.map(|v| to_json(&v)))
    }

    /// How the map on screen sits on a box the user drew, `(x, y, width, height)` in pixels
    /// of a `picture_width × picture_height` picture of the photo (the photo's own size for
    /// a box in photo pixels): `trust::Localisation` as JSON.
    pub fn localise(
        &self,
        region: &[u32],
        picture_width: u32,
        picture_height: u32,
    ) -> Result<String, JsError> {
        let [x, y, width, height] = *region else {
            return Err(JsError::new("a box is [x, y, width, height]"));
        };
        let found = self
            .session
            .borrow()
            .localise(
                HotBox {
                    x,
                    y,
                    width,
                    height,
                },
                (picture_width, picture_height),
            )
            .map_err(js_error)?;
        Ok(to_json(&found))
    }

    /// The overlay on screen with `view` settings at the photo's full resolution, as a PNG
    /// streamed to `on_chunk(Uint8Array)` a megabyte at a time (never held whole here);
    /// returns the `session::SaveReport` as JSON.
    #[wasm_bindgen(js_name = overlayPng)]
    pub fn overlay_png(&self, view: String, on_chunk: Function) -> Result<String, JsError> {
        let view = ViewSettings::parse(&view).map_err(|e| js_error(e.into()))?;
        let saved = self
            .session
            .borrow()
            .overlay_png(&view, ChunkSink::new(on_chunk))
            .map_err(js_error)?;
        Ok(to_json(&saved))
    }

    /// The map on screen at the photo's resolution, min-max normalised, as a 16-bit PNG
    /// streamed to `on_chunk(Uint8Array)` as `overlayPng` does.
    #[wasm_bindgen(js_name = mapPng16)]
    pub fn map_png16(&self, on_chunk: Function) -> Result<(), JsError> {
        self.session
            .borrow()
            .map_png16(ChunkSink::new(on_chunk))
            .map_err(js_error)
    }

    /// The raw map on screen at its own resolution (`[h, w]` float32) as a `.npy` file.
    #[wasm_bindgen(js_name = mapNpy)]
    pub fn map_npy(&self) -> Result<Vec<u8>, JsError> {
        self.session.borrow().map_npy().map_err(js_error)
    }

    /// Scores the explanation on screen (or the one its `explain` names, for the
    /// leaderboard) as the Trust panel asks (see `session::TrustSettings`);
    /// `on_phase(map, metric)` is called as each metric starts.
    /// Resolves to `[json, ...bitmaps]`: the `session::TrustSummary` as JSON, then an
    /// `ImageBitmap` for each picture of its sanity-check strip.
    pub fn trust(&self, settings: String, on_phase: Option<Function>) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let settings = TrustSettings::parse(&settings).map_err(|e| js_error(e.into()))?;
            let request = settings.request().map_err(|e| js_error(e.into()))?;
            let other = settings.explain().map_err(|e| js_error(e.into()))?;
            let progress = |map: &str, phase: TrustPhase| {
                if let Some(f) = &on_phase {
                    let (map, phase) = (JsValue::from_str(map), JsValue::from_str(phase.name()));
                    let _ = f.call2(&JsValue::NULL, &map, &phase);
                }
            };
            let summary = session::check_trust(
                &session,
                other,
                &request,
                settings.baselines,
                &settings.photo,
                &progress,
            )
            .await
            .map_err(js_error)?;
            let out = Array::of1(&JsValue::from_str(&to_json(&summary)));
            for picture in &summary.sanity {
                let bitmap = canvas::rgba_to_bitmap(&picture.rgba, picture.width, picture.height)?;
                out.push(&bitmap);
            }
            Ok(out.into())
        })
    }

    /// One forward pass of the current photo to the logits on the host (the benchmark's
    /// forward): resolves to its milliseconds.
    pub fn forward(&self) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let (explainer, photo) = session.borrow().model_and_photo().map_err(js_error)?;
            let input = explainer.input_tensor(&photo);
            let ms = time_forward(&explainer, &input)
                .await
                .map_err(|e| JsError::new(&e.to_string()))?;
            Ok(JsValue::from_f64(ms))
        })
    }

    /// Times the forward pass, a full Grad-CAM and each stage on the current photo (see
    /// `benchmark`); resolves to the report as JSON.
    pub fn benchmark(&self, warmup: usize, runs: usize) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let (explainer, photo) = session.borrow().model_and_photo().map_err(js_error)?;
            let report = run_benchmark(&explainer, &photo, BenchPlan { warmup, runs })
                .await
                .map_err(|e| JsError::new(&e.to_string()))?;
            Ok(JsValue::from_str(&json!(report).to_string()))
        })
    }
}

/// Parses the page's explain settings and serves them (see `session::explain`).
async fn serve(
    session: &RefCell<Session>,
    settings: &str,
    progress: &dyn Fn(Phase),
) -> Result<session::Served, JsError> {
    let request = ExplainSettings::parse(settings)
        .and_then(|s| s.request())
        .map_err(|e| js_error(e.into()))?;
    session::explain(session, request, progress)
        .await
        .map_err(js_error)
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
