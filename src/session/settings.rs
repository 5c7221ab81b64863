//! The page's requests and view settings, as JSON, turned into engine types. Absent fields
//! take the defaults in [`defaults`], which the page also receives in the catalogue.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cam::{CamRequest, Method, Target, UnknownMethod};
use crate::display::{DisplayBox, DisplayError};
use crate::model::{Layer, Stage, UnknownLayer};
use crate::render::{Colormap, DEFAULT_OPACITY, Scale, UnknownColormap, ViewMode, ViewOptions};
use crate::trust::TrustError;

/// Settings the engine cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The explain settings are not the JSON object described by [`ExplainSettings`].
    #[error("bad settings: {0}")]
    Explain(serde_json::Error),
    /// The view settings are not the JSON object described by [`ViewSettings`].
    #[error("bad view: {0}")]
    View(serde_json::Error),
    /// The trust settings are not the JSON object described by `TrustSettings`.
    #[error("bad trust settings: {0}")]
    Trust(serde_json::Error),
    /// A metric or curve baseline the trust check does not know.
    #[error(transparent)]
    Metric(#[from] TrustError),
    #[error(transparent)]
    Method(#[from] UnknownMethod),
    #[error(transparent)]
    Layer(#[from] UnknownLayer),
    #[error(transparent)]
    Colormap(#[from] UnknownColormap),
    /// A view kind other than `overlay`, `heatmap` or `photo`.
    #[error("unknown view `{0}`")]
    ViewKind(String),
    /// A normalisation other than `minmax` or `absolute`.
    #[error("unknown normalisation `{0}`")]
    Scale(String),
}

/// The method, layer and colour map used when the settings name none.
const DEFAULT_METHOD: Method = Method::GradCam;
const DEFAULT_STAGE: Stage = Stage::Layer4;
const DEFAULT_COLORMAP: Colormap = Colormap::Jet;

/// The defaults of every setting, in the page's units (opacity in percent, threshold in
/// percent of the range): `{"method","layer","colormap","opacity","scale","threshold","view"}`.
pub fn defaults() -> Value {
    json!({
        "method": DEFAULT_METHOD.name(),
        "layer": DEFAULT_STAGE.to_string(),
        "colormap": DEFAULT_COLORMAP.name(),
        "opacity": (DEFAULT_OPACITY * 100.0).round(),
        "scale": "minmax",
        "threshold": 0,
        "view": "overlay",
    })
}

/// What to explain: `{"method","layer","class","other"}`; `class: null` is the top class,
/// `other` makes it a contrast "why `class` rather than `other`".
#[derive(Debug, Default, Deserialize)]
pub struct ExplainSettings {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    layer: Option<String>,
    #[serde(default)]
    class: Option<usize>,
    #[serde(default)]
    other: Option<usize>,
}

impl ExplainSettings {
    /// Reads the page's JSON.
    pub fn parse(json: &str) -> Result<Self, SettingsError> {
        serde_json::from_str(json).map_err(SettingsError::Explain)
    }

    /// The engine request these settings describe.
    pub fn request(&self) -> Result<CamRequest, SettingsError> {
        let method: Method = match &self.method {
            Some(name) => name.parse()?,
            None => DEFAULT_METHOD,
        };
        let layer: Layer = match &self.layer {
            Some(name) => name.parse()?,
            None => Layer::from(DEFAULT_STAGE),
        };
        let target = match (self.class, self.other) {
            (None, _) => Target::TopClass,
            (Some(class), None) => Target::Class(class),
            (Some(class), Some(other)) => Target::Contrast { class, other },
        };
        Ok(CamRequest::new(method, layer, target))
    }
}

/// What to draw: `{"kind","colormap","opacity","scale","max","threshold","box"}`.
#[derive(Debug, Deserialize)]
pub struct ViewSettings {
    /// `overlay` (default), `heatmap` or `photo`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    colormap: Option<String>,
    /// Share of the heatmap in the blend, 0–1 (the photo gets the rest).
    #[serde(default)]
    opacity: Option<f32>,
    /// `minmax` (default) or `absolute`, scaled by `max`.
    #[serde(default)]
    scale: Option<String>,
    #[serde(default)]
    max: Option<f32>,
    /// Only values at or above this share of the range are coloured (0–1).
    #[serde(default)]
    threshold: Option<f32>,
    /// `[width, height]` in device pixels the picture is shown in (`height` may be `null`);
    /// absent: as large as a display picture may be.
    #[serde(default, rename = "box")]
    target: Option<(u32, Option<u32>)>,
}

impl ViewSettings {
    /// Reads the page's JSON.
    pub fn parse(json: &str) -> Result<Self, SettingsError> {
        serde_json::from_str(json).map_err(SettingsError::View)
    }

    /// Whether only the photo is wanted.
    pub fn is_photo(&self) -> bool {
        self.kind.as_deref() == Some("photo")
    }

    /// The device-pixel box the picture is drawn for.
    pub fn target(&self) -> Result<DisplayBox, DisplayError> {
        match self.target {
            Some((width, height)) => DisplayBox::new(width, height),
            None => DisplayBox::new(u32::MAX, None),
        }
    }

    /// How raw values are brought to the colour scale (whatever the view kind).
    pub fn scale(&self) -> Result<Scale, SettingsError> {
        match self.scale.as_deref() {
            None | Some("minmax") => Ok(Scale::MinMax),
            Some("absolute") => Ok(Scale::Absolute {
                max: self.max.unwrap_or(1.0),
            }),
            Some(other) => Err(SettingsError::Scale(other.to_owned())),
        }
    }

    /// The renderer's options.
    pub fn options(&self) -> Result<ViewOptions, SettingsError> {
        let colormap: Colormap = match &self.colormap {
            Some(name) => name.parse()?,
            None => DEFAULT_COLORMAP,
        };
        let mode = match self.kind.as_deref() {
            None | Some("overlay") => ViewMode::Overlay,
            Some("heatmap") => ViewMode::Heatmap,
            Some(other) => return Err(SettingsError::ViewKind(other.to_owned())),
        };
        let absolute_max = match self.scale()? {
            Scale::Absolute { max } => Some(max),
            Scale::MinMax => None,
        };
        Ok(ViewOptions::chosen(
            colormap,
            self.opacity.unwrap_or(DEFAULT_OPACITY),
            absolute_max,
            self.threshold,
            mode,
        ))
    }
}
