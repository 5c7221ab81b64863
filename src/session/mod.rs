//! The explorer's session: one model, one photo, the explanations kept for it, and how each
//! request is served — from the cache, re-targeted from a cached result, from cached
//! activations at its layer, or computed. Target-independent, so native tests and clippy see
//! every rule; the page's wasm glue (`web`) only converts JavaScript values to and from it.

mod catalogue;
mod own_model;
mod report;
mod settings;
mod strip;
mod trust;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use web_time::Instant;

use crate::cam::{CachedActivations, CamError, CamRequest, Phase};
use crate::display::{
    DisplayError, DisplayPhotos, Fit, SaveError, photo_display, render_display, write_map_png16,
    write_overlay_png,
};
use crate::engine::{ExplainJob, Explainer, Explanation, elapsed_ms};
use crate::imageio::{DecodeError, Photo, decode_photo, write_npy_f32};
use crate::model::{Stage, StagedClassifier};
use crate::render::{HotBox, map_value_at};
use crate::trust::{Localisation, TrustError, localise};

pub use catalogue::catalogue;
pub use own_model::{
    CheckpointReport, OwnModelError, OwnModelSettings, convert_own_model, inspect_checkpoint,
};
pub use report::{
    DrawReport, Drawn, ExplainReport, MapDrawn, ModelReport, PhotoReport, Reuse, SaveReport,
    ValueAt, summary,
};
pub use settings::{ExplainSettings, SettingsError, ViewSettings, defaults};
pub use strip::{STRIP_PICTURE_SIZE, StripPicture};
pub use trust::{TrustSettings, TrustSummary, check as check_trust};

/// Explanations kept per photo, so that going back to a method, layer or class is instant.
pub const CACHED_EXPLANATIONS: usize = 24;

/// Why the session could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the model is not loaded yet")]
    NoModel,
    #[error("no photo to explain")]
    NoPhoto,
    #[error("nothing explained yet")]
    NothingExplained,
    /// A newer photo or model arrived while the engine worked: the result is dropped.
    #[error("superseded by a newer photo or model")]
    Superseded,
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Cam(#[from] CamError),
    #[error(transparent)]
    Display(#[from] DisplayError),
    #[error(transparent)]
    Save(#[from] SaveError),
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// One model, one photo and its explanations.
#[derive(Default)]
pub struct Session {
    explainer: Option<Rc<Explainer>>,
    photo: Option<Rc<Photo>>,
    /// The photo at the sizes it is shown.
    photos: DisplayPhotos,
    /// The explanation on screen.
    shown: Option<Explanation>,
    /// Explanations of the same photo with the same model, oldest first.
    cache: Vec<Explanation>,
    /// The value range of the map on screen as last drawn (for the read-out's share).
    drawn_range: Option<(f32, f32)>,
}

/// How the session will serve a request.
enum Plan {
    /// An identical request was served before.
    Cached(Explanation),
    /// A re-targetable result of the same method and layer (see
    /// [`Explanation::retargets_cheaply`]).
    Retarget(Explanation),
    /// Computed, skipping the forward pass up to the layer when some result read it.
    Compute(Option<CachedActivations>),
}

impl Session {
    /// Replaces the model; the photo stays, its explanations go.
    pub fn load_model(&mut self, explainer: Explainer) -> ModelReport {
        self.forget_explanations();
        let report = ModelReport::of(&explainer);
        self.explainer = Some(Rc::new(explainer));
        report
    }

    /// Forgets the model (the page refused its weights after loading) and its explanations.
    pub fn unload_model(&mut self) {
        self.explainer = None;
        self.forget_explanations();
    }

    /// Decodes a photo file (EXIF orientation applied) and makes it current. On failure the
    /// previous photo and its explanations are gone too: never shown as current.
    pub fn set_photo(&mut self, bytes: &[u8]) -> Result<PhotoReport, SessionError> {
        self.photo = None;
        self.photos.clear();
        self.forget_explanations();
        let start = Instant::now();
        let photo = decode_photo(bytes)?;
        let report = PhotoReport {
            width: photo.width(),
            height: photo.height(),
            decode_ms: elapsed_ms(start),
        };
        self.photo = Some(Rc::new(photo));
        Ok(report)
    }

    /// The model, for work on photos of its own (the audit).
    pub fn explainer(&self) -> Result<Rc<Explainer>, SessionError> {
        self.explainer.clone().ok_or(SessionError::NoModel)
    }

    /// The model and the photo, for work that needs both (the benchmark).
    pub fn model_and_photo(&self) -> Result<(Rc<Explainer>, Rc<Photo>), SessionError> {
        let explainer = self.explainer.clone().ok_or(SessionError::NoModel)?;
        let photo = self.photo.clone().ok_or(SessionError::NoPhoto)?;
        Ok((explainer, photo))
    }

    /// Whether `explainer` and `photo` are still the session's (no newer model or photo
    /// arrived while work on them ran).
    fn holds(&self, explainer: &Rc<Explainer>, photo: &Rc<Photo>) -> bool {
        self.explainer
            .as_ref()
            .is_some_and(|e| Rc::ptr_eq(e, explainer))
            && self.photo.as_ref().is_some_and(|p| Rc::ptr_eq(p, photo))
    }

    /// Puts `explanation` on screen (what `render`, `value_at` and the saves use).
    pub fn show(&mut self, explanation: Explanation) {
        self.shown = Some(explanation);
        self.drawn_range = None;
    }

    /// The explanation on screen.
    pub fn shown(&self) -> Option<&Explanation> {
        self.shown.as_ref()
    }

    /// Explanations kept for the current photo and model.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    fn forget_explanations(&mut self) {
        self.shown = None;
        self.drawn_range = None;
        self.cache.clear();
    }

    fn remember(&mut self, explanation: &Explanation) {
        self.cache.retain(|e| e.request != explanation.request);
        if self.cache.len() == CACHED_EXPLANATIONS {
            self.cache.remove(0);
        }
        self.cache.push(explanation.clone());
    }

    fn plan(&self, request: &CamRequest) -> Plan {
        if let Some(same) = self.cache.iter().find(|e| e.request == *request) {
            return Plan::Cached(same.clone());
        }
        let retarget = self.cache.iter().rev().find(|e| {
            e.retargets_cheaply()
                && e.request.method == request.method
                && e.request.layers == request.layers
        });
        if let Some(previous) = retarget {
            return Plan::Retarget(previous.clone());
        }
        // Any result that read the request's (first) layer spares the forward pass up to it.
        Plan::Compute(self.cache.iter().rev().find_map(|e| {
            e.cached_activations()
                .filter(|a| request.layers.first() == Some(&a.layer))
        }))
    }

    /// Renders the explanation on screen (or the plain photo) as `view` asks, at the size
    /// it is shown in the view's box.
    pub fn render(&mut self, view: &ViewSettings) -> Result<Drawn, SessionError> {
        let photo = self.photo.clone().ok_or(SessionError::NoPhoto)?;
        let drawn = draw(&mut self.photos, &photo, self.shown.as_ref(), view)?;
        if let Some(map) = &drawn.report.map {
            self.drawn_range = map.range.map(|[lo, hi]| (lo, hi));
        }
        Ok(drawn)
    }

    /// Renders `explanation` of the current photo (a grid cell) without putting it on screen.
    pub fn render_aside(
        &mut self,
        explanation: &Explanation,
        view: &ViewSettings,
    ) -> Result<Drawn, SessionError> {
        let photo = self.photo.clone().ok_or(SessionError::NoPhoto)?;
        draw(&mut self.photos, &photo, Some(explanation), view)
    }

    /// The raw map value under pixel `(x, y)` of a `width × height` picture of the photo
    /// (upsampled as drawn at full resolution), and where it sits on the colour scale of
    /// `view` as last drawn; `None` before anything is explained.
    pub fn value_at(
        &self,
        (x, y): (u32, u32),
        picture: (u32, u32),
        view: &ViewSettings,
    ) -> Result<Option<ValueAt>, SessionError> {
        let scale = view.scale()?;
        let (Some(photo), Some(explanation)) = (&self.photo, &self.shown) else {
            return Ok(None);
        };
        let size = (photo.width(), photo.height());
        let fit = Fit::of_picture(size, picture)?;
        let (px, py) = fit.photo_pixel(x, y);
        let cam = &explanation.cam;
        let value = map_value_at(&cam.map, (cam.height, cam.width), size, px, py);
        Ok(Some(ValueAt {
            x: px,
            y: py,
            value,
            share: scale.share(value, self.drawn_range),
        }))
    }

    /// How the map on screen sits on the box `region` the user drew, in pixels of a
    /// `picture` (`(width, height)`; the photo's own size for a box in photo pixels): the
    /// pointing game, energy inside and relevance mass ([`trust::localise`]).
    pub fn localise(
        &self,
        region: HotBox,
        picture: (u32, u32),
    ) -> Result<Localisation, SessionError> {
        let (photo, explanation) = self.photo_and_shown()?;
        let size = (photo.width(), photo.height());
        let region = Fit::of_picture(size, picture)?.photo_box(region);
        let cam = &explanation.cam;
        Ok(localise(&cam.map, (cam.height, cam.width), size, region))
    }

    /// Streams the overlay on screen, drawn as `view` asks at the photo's full resolution, as
    /// a PNG into `sink`.
    pub fn overlay_png(
        &self,
        view: &ViewSettings,
        sink: impl Write,
    ) -> Result<SaveReport, SessionError> {
        let start = Instant::now();
        let (photo, explanation) = self.photo_and_shown()?;
        let options = view.options()?;
        let cam = &explanation.cam;
        let saved = write_overlay_png(
            sink,
            &photo.rgb,
            &cam.map,
            (cam.height, cam.width),
            &options,
        )?;
        Ok(SaveReport {
            width: saved.width,
            height: saved.height,
            hot_box: saved.hot_box,
            save_ms: elapsed_ms(start),
        })
    }

    /// Streams the map on screen at the photo's resolution, min-max normalised, as a 16-bit
    /// grey PNG into `sink`.
    pub fn map_png16(&self, sink: impl Write) -> Result<(), SessionError> {
        let (photo, explanation) = self.photo_and_shown()?;
        let cam = &explanation.cam;
        let size = (photo.width(), photo.height());
        write_map_png16(sink, &cam.map, (cam.height, cam.width), size)?;
        Ok(())
    }

    /// The raw map on screen at its own resolution (`[h, w]` float32) as a `.npy` file.
    pub fn map_npy(&self) -> Result<Vec<u8>, SessionError> {
        let cam = &self
            .shown
            .as_ref()
            .ok_or(SessionError::NothingExplained)?
            .cam;
        Ok(write_npy_f32(&[cam.height, cam.width], &cam.map))
    }

    fn photo_and_shown(&self) -> Result<(&Photo, &Explanation), SessionError> {
        match (&self.photo, &self.shown) {
            (Some(photo), Some(explanation)) => Ok((photo, explanation)),
            _ => Err(SessionError::NothingExplained),
        }
    }
}

/// An explanation and the page's report on it.
#[derive(Debug, Clone)]
pub struct Served {
    pub explanation: Explanation,
    pub report: ExplainReport,
}

/// Serves `request` on the session's photo, reusing what is cached (see [`Reuse`]), and keeps
/// the result for later requests (it is not put on screen: see [`Session::show`]).
/// `progress` hears each phase as it starts. The session is not borrowed while the engine
/// works, so the page may change photo or model meanwhile: the result is then dropped
/// ([`SessionError::Superseded`]).
pub async fn explain(
    session: &RefCell<Session>,
    request: CamRequest,
    progress: &dyn Fn(Phase),
) -> Result<Served, SessionError> {
    let (explainer, photo, plan) = {
        let s = session.borrow();
        let (explainer, photo) = s.model_and_photo()?;
        let plan = s.plan(&request);
        (explainer, photo, plan)
    };
    let (explanation, reuse) = match plan {
        Plan::Cached(explanation) => (explanation, Reuse::Cache),
        Plan::Retarget(previous) => {
            let e = explainer
                .explain_other_target(&photo, &previous, request.target)
                .await?;
            (e, Reuse::Activations)
        }
        Plan::Compute(layer_reads) => {
            let e = explainer
                .explain(
                    ExplainJob::photo(&photo, request)
                        .reusing(layer_reads.as_ref())
                        .reporting(progress),
                )
                .await?;
            let reuse = if layer_reads.is_some() {
                Reuse::Layer
            } else {
                Reuse::None
            };
            (e, reuse)
        }
    };
    let mut s = session.borrow_mut();
    if !s.holds(&explainer, &photo) {
        return Err(SessionError::Superseded);
    }
    s.remember(&explanation);
    let report = ExplainReport::of(&explanation, reuse, explainer.labels());
    Ok(Served {
        explanation,
        report,
    })
}

/// The layers of the session's model in network order: each stage's blocks (`layer1.0`, …)
/// then the stage itself (`layer1`), from `stem` to `layer4`.
pub fn layer_names(model: &impl StagedClassifier) -> Vec<String> {
    Stage::ALL
        .iter()
        .filter(|s| **s != Stage::Head)
        .flat_map(|&stage| {
            let blocks = (0..model.block_count(stage)).map(move |i| format!("{stage}.{i}"));
            blocks.chain(std::iter::once(stage.to_string()))
        })
        .collect()
}

/// Renders `explanation` (or the plain photo) with `view` at the size its box shows it.
fn draw(
    photos: &mut DisplayPhotos,
    photo: &Photo,
    explanation: Option<&Explanation>,
    view: &ViewSettings,
) -> Result<Drawn, SessionError> {
    let start = Instant::now();
    let target = view.target()?;
    match explanation {
        Some(explanation) if !view.is_photo() => {
            let options = view.options()?;
            let cam = &explanation.cam;
            let shape = (cam.height, cam.width);
            let out = render_display(photos, &photo.rgb, &cam.map, shape, &options, target);
            let map = MapDrawn {
                range: out.view.range.map(|(lo, hi)| [lo, hi]),
                flat: out.view.range.is_none(),
                hot_box: out.hot_box,
                pixels_ms: elapsed_ms(start),
            };
            Ok(Drawn::new(out.fit, out.view.rgba, Some(map), start))
        }
        None if !view.is_photo() => Err(SessionError::NothingExplained),
        _ => {
            let (fit, rgba) = photo_display(photos, &photo.rgb, target);
            Ok(Drawn::new(fit, rgba, None, start))
        }
    }
}
