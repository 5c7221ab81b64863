//! What the session tells the page, as serialisable structs (the page reads them as JSON).

use serde::Serialize;
use web_time::Instant;

use crate::cam::Method;
use crate::display::Fit;
use crate::engine::{Explainer, Explanation, Prediction, Timings, doubt, elapsed_ms};
use crate::imageio::Normalization;
use crate::model::labels::Labels;
use crate::render::HotBox;

use super::layer_names;

/// How an explanation was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reuse {
    /// An identical earlier request.
    Cache,
    /// Re-targeted from a cached result's activations (no forward or backward pass).
    Activations,
    /// Computed from cached activations at its layer (no forward pass up to it).
    Layer,
    /// Computed from the photo.
    None,
}

/// A loaded model: `{"arch","classes","normalization","trained","layers","labels"}`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub arch: String,
    pub classes: usize,
    pub normalization: Normalization,
    pub trained: bool,
    /// In network order (`stem`, `layer1.0`, …, `layer1`, …, `layer4`).
    pub layers: Vec<String>,
    /// The name of each class, in class order.
    pub labels: Vec<String>,
}

impl ModelReport {
    pub(super) fn of(explainer: &Explainer) -> Self {
        let info = explainer.info();
        ModelReport {
            arch: info.arch.name(),
            classes: info.arch.num_classes(),
            normalization: info.normalization,
            trained: info.trained,
            layers: layer_names(explainer.model()),
            labels: (0..info.arch.num_classes())
                .map(|i| explainer.labels().name(i))
                .collect(),
        }
    }
}

/// A decoded photo: `{"width","height","decode_ms"}`.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoReport {
    pub width: u32,
    pub height: u32,
    pub decode_ms: f64,
}

/// An explanation: `{"class","other","label","other_label","top5","cam_shape","layer",
/// "method","timings_ms","reused","note","summary","doubt"}`, `note` saying where the map
/// departs from pytorch-grad-cam (else `null`), `summary` what the map shows in one plain
/// sentence, `doubt` why its class may be a guess (else `null`: [`doubt`]).
#[derive(Debug, Clone, Serialize)]
pub struct ExplainReport {
    pub class: usize,
    pub other: Option<usize>,
    pub label: String,
    pub other_label: Option<String>,
    pub top5: Vec<Prediction>,
    pub cam_shape: [usize; 2],
    pub layer: String,
    pub method: &'static str,
    pub timings_ms: Timings,
    pub reused: Reuse,
    pub note: Option<String>,
    pub summary: String,
    pub doubt: Option<String>,
}

impl ExplainReport {
    pub(super) fn of(explanation: &Explanation, reused: Reuse, labels: &Labels) -> Self {
        let cam = &explanation.cam;
        let target = match cam.other {
            None => format!("“{}”", labels.name(cam.class)),
            Some(other) => format!(
                "“{}” rather than “{}”",
                labels.name(cam.class),
                labels.name(other)
            ),
        };
        ExplainReport {
            class: cam.class,
            other: cam.other,
            label: labels.name(cam.class),
            other_label: cam.other.map(|c| labels.name(c)),
            top5: explanation.top5.clone(),
            cam_shape: [cam.height, cam.width],
            layer: cam.layer.to_string(),
            method: cam.method.name(),
            timings_ms: explanation.timings.clone(),
            reused,
            note: cam.deviation.map(|d| d.to_string()),
            summary: summary(cam.method, &cam.layer.to_string(), &target),
            doubt: doubt(&explanation.top5),
        }
    }
}

/// What a map of `method` at `layer` for `target` (a quoted class name, or two) shows, in
/// one plain sentence: "Grad-CAM at layer4: where the network found evidence for “tabby”".
pub fn summary(method: Method, layer: &str, target: &str) -> String {
    if method.is_pixel_space() {
        format!(
            "{}: the pixels that most change the score of {target}",
            method.title()
        )
    } else {
        format!(
            "{} at {layer}: where the network found evidence for {target}",
            method.title()
        )
    }
}

/// A picture drawn for the screen: RGBA pixels and what the page shows about them.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub rgba: Vec<u8>,
    pub report: DrawReport,
}

impl Drawn {
    pub(super) fn new(fit: Fit, rgba: Vec<u8>, map: Option<MapDrawn>, start: Instant) -> Self {
        Drawn {
            rgba,
            report: DrawReport {
                width: fit.display.0,
                height: fit.display.1,
                photo_width: fit.photo.0,
                photo_height: fit.photo.1,
                map,
                render_ms: elapsed_ms(start),
            },
        }
    }
}

/// `{"width","height","photo_width","photo_height","render_ms"}` plus, when a map is drawn,
/// `{"range","flat","hot_box","pixels_ms"}` (`hot_box` in photo pixels).
#[derive(Debug, Clone, Serialize)]
pub struct DrawReport {
    /// The picture's size in device pixels.
    pub width: u32,
    pub height: u32,
    pub photo_width: u32,
    pub photo_height: u32,
    #[serde(flatten)]
    pub map: Option<MapDrawn>,
    /// Time to draw; the glue adds the time to hand the pixels to the page.
    pub render_ms: f64,
}

/// What was drawn of the map.
#[derive(Debug, Clone, Serialize)]
pub struct MapDrawn {
    /// The map's value range (`null` when flat).
    pub range: Option<[f32; 2]>,
    /// No positive evidence: the plain photo was drawn.
    pub flat: bool,
    /// The largest hot region's box in photo pixels (with a threshold).
    pub hot_box: Option<HotBox>,
    /// Time spent on the pixels.
    pub pixels_ms: f64,
}

/// The map value under a picture pixel: `{"x","y","value","share"}`, `(x, y)` in photo
/// pixels, `share` where the value sits on the colour scale drawn (0–1, see `Scale::share`).
#[derive(Debug, Clone, Serialize)]
pub struct ValueAt {
    pub x: u32,
    pub y: u32,
    pub value: f32,
    pub share: f32,
}

/// A full-resolution overlay PNG: `{"width","height","hot_box","save_ms"}`.
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    pub width: u32,
    pub height: u32,
    pub hot_box: Option<HotBox>,
    pub save_ms: f64,
}
