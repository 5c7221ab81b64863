//! `gradcam manifest`: the list of models the page offers (`weights/models.json`).

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::imageio::{INPUT_SIZE, Normalization};
use crate::model::Architecture;
use crate::model::weights::read_info;

/// One model the page can load.
#[derive(Debug, Serialize)]
struct ModelEntry {
    /// Identifier (the file stem), used in `?model=` and the URL fragment.
    name: String,
    /// Human-readable name.
    label: String,
    /// Architecture preset name.
    arch: String,
    classes: usize,
    input_size: u32,
    normalization: Normalization,
    /// File name relative to the manifest.
    file: String,
    bytes: u64,
    /// Hex SHA-256 of the file; the page verifies downloads against it.
    sha256: String,
    trained: bool,
}

#[derive(Debug, Serialize)]
struct Manifest {
    /// The model the page loads when none is asked for.
    default: String,
    models: Vec<ModelEntry>,
}

fn label_for(arch: &Architecture, trained: bool) -> String {
    if trained {
        arch.title()
    } else {
        format!("{} (untrained)", arch.title())
    }
}

/// The trained ResNet-101 when present, else the trained EfficientNet-Lite0, else the first.
fn default_model(models: &[ModelEntry]) -> String {
    let trained = |arch: &str| models.iter().find(|m| m.trained && m.arch == arch);
    trained("resnet101")
        .or_else(|| trained("efficientnet-lite0"))
        .or(models.first())
        .map(|m| m.name.clone())
        .unwrap_or_default()
}

fn entry(path: &Path) -> Result<ModelEntry> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let info = read_info(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let arch = info.arch.name();
    Ok(ModelEntry {
        name: path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into(),
        label: label_for(&info.arch, info.trained),
        classes: info.arch.num_classes(),
        input_size: INPUT_SIZE,
        normalization: info.normalization,
        file: path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into(),
        bytes: bytes.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
        trained: info.trained,
        arch,
    })
}

/// Describes every `.bpk` in `dir` and writes `dir/models.json`.
pub(super) fn write_manifest(dir: &Path) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "bpk"))
        .collect();
    files.sort();
    let models = files.iter().map(|p| entry(p)).collect::<Result<Vec<_>>>()?;
    let manifest = Manifest {
        default: default_model(&models),
        models,
    };
    let out = dir.join("models.json");
    let json = serde_json::to_string_pretty(&manifest)? + "\n";
    std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} ({} models, default {})",
        out.display(),
        manifest.models.len(),
        manifest.default
    );
    Ok(())
}
