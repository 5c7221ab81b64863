//! The page's requests and view settings, as JSON, turned into engine types.

use serde::Deserialize;

use crate::cam::{CamRequest, Method, Target};
use crate::display::{DisplayBox, DisplayError};
use crate::model::Layer;
use crate::render::{Colormap, DEFAULT_PHOTO_WEIGHT, Scale, ViewMode, ViewOptions};

/// What to explain: `{"method","layer","class","other"}`; `class: null` is the top class,
/// `other` makes it a contrast "why `class` rather than `other`".
#[derive(Debug, Deserialize)]
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
    /// The engine request these settings describe.
    pub fn request(&self) -> Result<CamRequest, String> {
        let method: Method = match &self.method {
            Some(name) => name.parse().map_err(|e| format!("{e}"))?,
            None => Method::GradCam,
        };
        let layer: Layer = match &self.layer {
            Some(name) => name.parse().map_err(|e| format!("{e}"))?,
            None => Layer::from(crate::model::Stage::Layer4),
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

    /// The renderer's options.
    pub fn options(&self) -> Result<ViewOptions, String> {
        let colormap: Colormap = match &self.colormap {
            Some(name) => name.parse().map_err(|e| format!("{e}"))?,
            None => Colormap::Jet,
        };
        let mode = match self.kind.as_deref() {
            None | Some("overlay") => ViewMode::Overlay,
            Some("heatmap") => ViewMode::Heatmap,
            Some(other) => return Err(format!("unknown view `{other}`")),
        };
        let scale = match self.scale.as_deref() {
            None | Some("minmax") => Scale::MinMax,
            Some("absolute") => Scale::Absolute {
                max: self.max.unwrap_or(1.0),
            },
            Some(other) => return Err(format!("unknown normalisation `{other}`")),
        };
        let photo_weight = self
            .opacity
            .map_or(DEFAULT_PHOTO_WEIGHT, |o| 1.0 - o.clamp(0.0, 1.0));
        Ok(ViewOptions {
            colormap,
            photo_weight,
            scale,
            threshold: self.threshold.filter(|t| *t > 0.0).map(|t| t.min(1.0)),
            mode,
        })
    }
}
