//! The native command line: the same engine as the page, on the `flex` CPU backend.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::cam::Target;
use crate::engine::Explainer;
use crate::imageio::decode_photo;
use crate::model::weights::{WeightsInfo, save_resnet};
use crate::model::{ResNetConfig, Stage};
use crate::render::DEFAULT_PHOTO_WEIGHT;

/// Grad-CAM heatmaps for ResNet models.
#[derive(Parser, Debug)]
#[command(name = "gradcam", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write untrained weights (torchvision's initialisation, fixed seed) as a burnpack.
    InitWeights {
        /// Architecture: resnet18, resnet34, resnet50, resnet101 or resnet152.
        #[arg(long, default_value = "resnet101")]
        arch: String,
        /// Random seed; the same seed gives the same file.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Store convolution and linear weights as f16 (half the size).
        #[arg(long)]
        half: bool,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Explain a photo: top-5 classes and a Grad-CAM overlay.
    Explain {
        /// Photo to explain.
        photo: PathBuf,
        /// Burnpack weights file.
        #[arg(long)]
        weights: PathBuf,
        /// Layer whose activations are explained.
        #[arg(long, default_value = "layer4")]
        layer: Stage,
        /// Class index to explain (default: the top-1 class).
        #[arg(long)]
        target: Option<usize>,
        /// Write the overlay as PNG here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Share of the photo in the blend (0 = heatmap only, 1 = photo only).
        #[arg(long, default_value_t = DEFAULT_PHOTO_WEIGHT)]
        photo_weight: f32,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line and runs it.
pub fn run() -> Result<()> {
    match Cli::parse().command {
        Command::InitWeights {
            arch,
            seed,
            half,
            out,
        } => init_weights(&arch, seed, half, &out),
        Command::Explain {
            photo,
            weights,
            layer,
            target,
            out,
            photo_weight,
            json,
        } => explain(
            &photo,
            &weights,
            layer,
            target,
            out.as_deref(),
            photo_weight,
            json,
        ),
    }
}

fn init_weights(arch: &str, seed: u64, half: bool, out: &Path) -> Result<()> {
    let config = ResNetConfig::by_name(arch)
        .with_context(|| format!("unknown architecture `{arch}` (resnet18/34/50/101/152)"))?;
    let device = Device::flex();
    device.seed(seed);
    let model = config.init(&device);
    let info = WeightsInfo {
        config,
        trained: false,
    };
    let bytes = save_resnet(&model, &info, half)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn explain(
    photo_path: &Path,
    weights: &Path,
    layer: Stage,
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
            "layer": layer.name(),
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
