//! `gradcam explain`: top-5 and a Grad-CAM overlay for one photo.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;
use serde_json::json;

use crate::cam::Target;
use crate::engine::Explainer;
use crate::imageio::decode_photo;
use crate::model::Layer;

pub(super) fn explain(
    photo_path: &Path,
    weights: &Path,
    layer: Layer,
    target: Option<usize>,
    out: Option<&Path>,
    photo_weight: f32,
    as_json: bool,
) -> Result<()> {
    let device = Device::flex();
    let bytes =
        std::fs::read(weights).with_context(|| format!("reading weights {}", weights.display()))?;
    let explainer = Explainer::from_burnpack(bytes, &device)
        .with_context(|| format!("loading weights {}", weights.display()))?;
    let file =
        std::fs::read(photo_path).with_context(|| format!("reading {}", photo_path.display()))?;
    let photo =
        decode_photo(&file).with_context(|| format!("decoding {}", photo_path.display()))?;
    let target = target.map_or(Target::TopClass, Target::Class);
    let explanation = pollster::block_on(explainer.explain(&photo, layer, target))
        .with_context(|| format!("explaining {}", photo_path.display()))?;
    let overlay = explanation.overlay(&photo, photo_weight);
    if let Some(out) = out {
        image::save_buffer(
            out,
            &overlay.rgba,
            overlay.width,
            overlay.height,
            image::ExtendedColorType::Rgba8,
        )
        .with_context(|| format!("writing {}", out.display()))?;
    }
    if as_json {
        let report = json!({
            "photo": photo_path,
            "layer": layer.to_string(),
            "target": explanation.cam.class,
            "trained": explainer.info().trained,
            "top5": explanation.top5,
            "cam_shape": [explanation.cam.height, explanation.cam.width],
            "timings_ms": explanation.timings,
        });
        println!("{report}");
    } else {
        for p in &explanation.top5 {
            println!("{:>4}  {:6.2}%  {}", p.class, p.prob * 100.0, p.label);
        }
        if !explainer.info().trained {
            eprintln!("note: these weights are untrained; the heatmap is not meaningful");
        }
    }
    if explanation.cam.map.iter().all(|v| *v <= 0.0) {
        eprintln!(
            "no positive evidence for class {}: the overlay shows the plain photo",
            explanation.cam.class
        );
    }
    Ok(())
}
