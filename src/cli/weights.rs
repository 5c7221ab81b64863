//! `gradcam init-weights` and `gradcam convert`: writing burnpack weights files.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;

use crate::model::Architecture;
use crate::model::import::import_pytorch;
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

/// A PyTorch state dict converted to a burnpack of trained weights.
pub(super) fn convert(arch: &str, input: &Path, output: &Path, half: bool) -> Result<()> {
    let arch = architecture(arch)?;
    let model = import_pytorch(input, &arch, &Device::flex())?;
    let info = WeightsInfo {
        normalization: default_normalization(&arch),
        arch,
        trained: true,
    };
    let bytes = save_network(&model, &info, half)?;
    write_atomically(output, &bytes)
}

/// Writes next to the target and renames, so that no half-written weights file ever exists.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = out.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
