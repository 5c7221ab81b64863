//! What the page offers, sent once when the engine starts: every method with its facts (the
//! page derives nothing about a method itself), the trust metrics' headline numbers (label,
//! which way is better, help), the colour maps with their tables, the class names and the
//! settings' defaults.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cam::Method;
use crate::model::Stage;
use crate::model::labels::imagenet_label;
use crate::render::Colormap;
use crate::trust::Metric;

use super::settings::defaults;

/// One method as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MethodEntry {
    /// The name the settings and the URL use.
    pub name: &'static str,
    pub title: &'static str,
    /// `gradient`, `activation`, `perturbation` or `pixel`.
    pub family: &'static str,
    /// Ignores the layer (the layer control is disabled).
    pub pixel_space: bool,
    /// Back-propagates.
    pub gradients: bool,
    /// Another class at `layer4` costs no engine pass.
    pub retargets: bool,
    /// Cheap enough for the grid of methods.
    pub grid: bool,
    pub help: &'static str,
}

impl MethodEntry {
    /// The entry for `method`.
    pub fn of(method: Method) -> Self {
        MethodEntry {
            name: method.name(),
            title: method.title(),
            family: method.family().name(),
            pixel_space: method.is_pixel_space(),
            gradients: method.needs_gradients(),
            retargets: method.retargets_from_classifier(),
            grid: method.is_single_pass(),
            help: method.help(),
        }
    }
}

/// `{"methods","metrics","stage_help","colormaps","colormap_strongest","colormap_tables",
/// "labels","defaults"}`: `methods` as
/// [`MethodEntry`] objects in [`Method::ALL`] order, `metrics` the
/// [`Headline`](crate::trust::Headline)s in [`Metric::ALL`] order, `colormaps` names with
/// their 256-entry RGB tables, `defaults` as [`defaults`] gives them.
pub fn catalogue() -> Value {
    json!({
        "methods": Method::ALL.map(MethodEntry::of),
        "metrics": Metric::ALL.iter().filter_map(|m| m.headline()).collect::<Vec<_>>(),
        "colormaps": Colormap::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "stage_help": Stage::FEATURES
            .iter()
            .map(|s| (s.name(), s.help()))
            .collect::<BTreeMap<_, _>>(),
        "colormap_strongest": Colormap::ALL
            .iter()
            .map(|c| (c.name(), c.strongest()))
            .collect::<BTreeMap<_, _>>(),
        "colormap_tables": Colormap::ALL
            .iter()
            .map(|c| (c.name(), c.table().to_vec()))
            .collect::<BTreeMap<_, _>>(),
        "labels": (0..1000).map(imagenet_label).collect::<Vec<_>>(),
        "defaults": defaults(),
    })
}
