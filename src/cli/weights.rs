//! `gradcam init-weights` and `gradcam convert`: writing burnpack weights files.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;

use super::inputs::read_labels;
use crate::model::Architecture;
use crate::model::import::{ConvertOptions, convert_checkpoint, export_pytorch};
use crate::model::weights::{WeightsInfo, save_network};

fn architecture(name: &str) -> Result<Architecture> {
    Architecture::by_name(name).with_context(|| {
        format!(
            "unknown architecture `{name}` (expected one of {})",
            crate::model::ARCHITECTURE_NAMES.join(", ")
        )
    })
}

/// How `init-weights` writes its file.
pub(super) enum Format {
    /// Our burnpack, optionally with f16 convolution and linear weights.
    Burnpack { half: bool },
    /// A PyTorch state dict.
    Pytorch,
}

/// Untrained weights with a fixed seed (the same seed gives the same tensors in either
/// format), `classes` outputs when given.
pub(super) fn init_weights(
    arch: &str,
    seed: u64,
    classes: Option<usize>,
    format: Format,
    out: &Path,
) -> Result<()> {
    let mut arch = architecture(arch)?;
    if let Some(classes) = classes {
        arch = arch.with_num_classes(classes);
    }
    let device = Device::flex();
    device.seed(seed);
    let model = arch.init(&device);
    let bytes = match format {
        Format::Burnpack { half } => save_network(&model, &WeightsInfo::untrained(arch), half)?,
        Format::Pytorch => {
            let stem = out.file_stem().unwrap_or_default().to_string_lossy();
            export_pytorch(&model, &stem)?
        }
    };
    write_atomically(out, &bytes)
}

/// A PyTorch state dict converted to a burnpack of trained weights; the architecture is
/// worked out from the file when `arch` is `None`, the number of classes always is.
pub(super) fn convert(
    arch: Option<&str>,
    input: &Path,
    output: &Path,
    half: bool,
    labels: Option<&Path>,
) -> Result<()> {
    let options = ConvertOptions {
        preset: arch.map(architecture).transpose()?,
        labels: labels
            .map(|file| Ok::<_, anyhow::Error>((read_labels(file)?, file.display().to_string())))
            .transpose()?,
        half,
        ..ConvertOptions::default()
    };
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let name = input.display().to_string();
    let converted = convert_checkpoint(&bytes, &name, &options, &Device::flex())?;
    eprintln!("{}: {}", input.display(), converted.info.arch.describe());
    write_atomically(output, &converted.bytes)
}

/// Writes next to the target and renames, so that no half-written weights file ever exists.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    crate::batch::write_atomically(out, bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
