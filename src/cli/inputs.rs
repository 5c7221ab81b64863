//! Finding what the CLI works on: photos (files or folders) and a weights file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;

use crate::engine::Explainer;

/// File extensions taken from a folder (case-insensitive).
const PHOTO_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff"];

/// The photos named on the command line; a folder contributes its photo files, sorted.
/// Files named explicitly are kept whatever their extension (decoding will judge them).
pub fn collect_photos(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if args.is_empty() {
        bail!("name at least one photo or folder (or use --input-tensor)");
    }
    let mut photos = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(arg)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| {
                        PHOTO_EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str())
                    })
                })
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{} holds no photos", arg.display());
            }
            photos.extend(found);
        } else {
            photos.push(arg.clone());
        }
    }
    Ok(photos)
}

/// `--weights` if given; otherwise the trained weights of `--model` in `weights/`
/// (`<model>.bpk`, then `<model>-imagenet1k-v1.bpk`, then `-v2`).
pub fn find_weights(weights: Option<&Path>, model: Option<&str>) -> Result<PathBuf> {
    if let Some(path) = weights {
        return Ok(path.to_owned());
    }
    let Some(model) = model else {
        bail!("give --weights FILE or --model NAME");
    };
    let dir = Path::new("weights");
    for name in [
        format!("{model}.bpk"),
        format!("{model}-imagenet1k-v1.bpk"),
        format!("{model}-imagenet1k-v2.bpk"),
    ] {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(
        "no weights for {model} in weights/ (for ResNets run ./dev weights {model}); or give --weights FILE"
    )
}

/// The explainer for `--weights`/`--model` on `device`: reads and loads the burnpack, and
/// checks that it holds `--model` when both are given.
pub fn load_explainer(
    weights: Option<&Path>,
    model: Option<&str>,
    device: &Device,
) -> Result<Explainer> {
    let weights = find_weights(weights, model)?;
    let bytes = std::fs::read(&weights)
        .with_context(|| format!("reading weights {}", weights.display()))?;
    let explainer = Explainer::from_burnpack(bytes, device)
        .with_context(|| format!("loading weights {}", weights.display()))?;
    let holds = explainer.info().arch.name();
    if let Some(wanted) = model
        && wanted != holds
    {
        bail!("{} holds {holds}, not {wanted}", weights.display());
    }
    Ok(explainer)
}
