//! Finding what the CLI works on: photos (files or folders) and a weights file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;

use crate::engine::Explainer;
use crate::model::labels::Labels;

/// The labels file named by `--labels`, parsed (its format from its extension).
pub fn read_labels(path: &Path) -> Result<Labels> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading labels {}", path.display()))?;
    Ok(Labels::parse(&path.display().to_string(), &text)?)
}

/// The model used when neither `--weights` nor `--model` is given. Its burnpack is built
/// into the binary, so it works from any folder and after `cargo install`.
pub const DEFAULT_MODEL: &str = "efficientnet-lite0";

/// The default model's weights (the same file the page serves).
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../weights/efficientnet-lite0.bpk");

/// Where the CLI's weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSource {
    /// A burnpack on disk.
    File(PathBuf),
    /// The default model's burnpack inside the binary.
    Embedded,
}

impl WeightsSource {
    fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Embedded => format!("{DEFAULT_MODEL} (built in)"),
        }
    }
}

/// The folders searched for `--model NAME`, in order: `$GRADCAM_WEIGHTS_DIR`, `weights/` in
/// the current folder (a checkout), `weights/` next to the binary and `../share/gradcam-web/
/// weights` from it (an install prefix), then the data folder
/// (`$XDG_DATA_HOME/gradcam-web/weights`, by default `~/.local/share/gradcam-web/weights`).
pub fn weights_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("GRADCAM_WEIGHTS_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("weights"));
    if let Some(bin) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        dirs.push(bin.join("weights"));
        dirs.push(bin.join("../share/gradcam-web/weights"));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(data) = data {
        dirs.push(data.join("gradcam-web/weights"));
    }
    dirs
}

/// `--weights` if given; otherwise the trained weights of `--model` (default
/// `efficientnet-lite0`) in the first of `weights_dirs` that holds `<model>.bpk`,
/// `<model>-imagenet1k-v1.bpk` or `-v2`; the default model falls back to its built-in copy.
pub fn find_weights(weights: Option<&Path>, model: Option<&str>) -> Result<WeightsSource> {
    if let Some(path) = weights {
        return Ok(WeightsSource::File(path.to_owned()));
    }
    let model = model.unwrap_or(DEFAULT_MODEL);
    let dirs = weights_dirs();
    let names = [
        format!("{model}.bpk"),
        format!("{model}-imagenet1k-v1.bpk"),
        format!("{model}-imagenet1k-v2.bpk"),
    ];
    for dir in &dirs {
        for name in &names {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(WeightsSource::File(path));
            }
        }
    }
    if model == DEFAULT_MODEL {
        return Ok(WeightsSource::Embedded);
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    bail!(
        "no weights for {model} in {} (for ResNets run ./dev weights {model} and copy the .bpk to one of them); or give --weights FILE",
        searched.join(", ")
    )
}

/// The explainer for `--weights`/`--model` on `device`: reads and loads the burnpack, and
/// checks that it holds `--model` when both are given.
pub fn load_explainer(
    weights: Option<&Path>,
    model: Option<&str>,
    device: &Device,
) -> Result<Explainer> {
    let source = find_weights(weights, model)?;
    let bytes = match &source {
        WeightsSource::File(path) => {
            std::fs::read(path).with_context(|| format!("reading weights {}", path.display()))?
        }
        WeightsSource::Embedded => EMBEDDED_WEIGHTS.to_vec(),
    };
    let explainer = Explainer::from_burnpack(bytes, device)
        .with_context(|| format!("loading weights {}", source.describe()))?;
    let holds = explainer.info().arch.name();
    if let Some(wanted) = model
        && wanted != holds
    {
        bail!("{} holds {holds}, not {wanted}", source.describe());
    }
    Ok(explainer)
}
