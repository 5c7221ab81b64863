//! `gradcam init-weights` and `gradcam convert`: writing burnpack weights files.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;

use crate::model::Architecture;
use crate::model::import::import_pytorch_inferred;
use crate::model::weights::{WeightsInfo, default_normalization, save_network};

fn architecture(name: &str) -> Result<Architecture> {
    Architecture::by_name(name).with_context(|| {
        format!(
            "unknown architecture `{name}` (expected one of {})",
            crate::model::ARCHITECTURE_NAMES.join(", ")
        )
    })
}

/// Untrained weights with a fixed seed.
pub(super) fn init_weights(arch: &str, seed: u64, half: bool, out: &Path) -> Result<()> {
    let arch = architecture(arch)?;
    let device = Device::flex();
    device.seed(seed);
    let model = arch.init(&device);
    let bytes = save_network(&model, &WeightsInfo::untrained(arch), half)?;
    write_atomically(out, &bytes)
}

/// A PyTorch state dict converted to a burnpack of trained weights; the architecture is
/// worked out from the file when `arch` is `None`, the number of classes always is.
pub(super) fn convert(arch: Option<&str>, input: &Path, output: &Path, half: bool) -> Result<()> {
    let preset = arch.map(architecture).transpose()?;
    let (model, arch) = import_pytorch_inferred(input, preset.as_ref(), &Device::flex())?;
    eprintln!("{}: {}", input.display(), describe(&arch));
    let info = WeightsInfo {
        normalization: default_normalization(&arch),
        arch,
        trained: true,
    };
    let bytes = save_network(&model, &info, half)?;
    write_atomically(output, &bytes)
}

/// "resnet50, 7 classes", or the shape of a custom ResNet.
fn describe(arch: &Architecture) -> String {
    let name = match (arch.name().as_str(), arch) {
        ("custom", Architecture::ResNet(c)) => format!(
            "custom ResNet ({:?} blocks, depths {:?}, width {})",
            c.block, c.depths, c.base_width
        ),
        (name, _) => name.to_owned(),
    };
    format!("{name}, {} classes", arch.num_classes())
}

/// Writes next to the target and renames, so that no half-written weights file ever exists.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    crate::batch::write_atomically(out, bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
