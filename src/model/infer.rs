//! Working out a state dict's architecture from its keys and tensor shapes (PyTorch
//! naming): torchvision ResNets of any depth, width and number of classes, and our
//! EfficientNet-Lite0 layout with any number of classes.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{BlockKind, ResNetConfig};
use super::efficientnet_config::EfficientNetConfig;
use super::network::Architecture;

/// Why no architecture fits a state dict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    /// No `fc.weight` (or `_fc.weight`) of shape `[classes, features]`.
    #[error("no classifier: expected `fc.weight` of shape [classes, features] (keys seen: {keys})")]
    NoClassifier {
        /// The first few keys of the file.
        keys: String,
    },
    /// The keys belong to no supported family, or to an unsupported member of one.
    #[error("unsupported architecture: {reason} (keys seen: {keys})")]
    Unsupported {
        /// What did not fit.
        reason: String,
        /// The first few keys of the file.
        keys: String,
    },
}

/// Tensor shapes by key, as a state dict holds them.
pub type Shapes = BTreeMap<String, Vec<usize>>;

/// The number of classes of a state dict: the rows of `fc.weight` (`_fc.weight` in the
/// EfficientNet-Lite port).
pub fn classifier_outputs(shapes: &Shapes) -> Result<usize, InferError> {
    ["fc.weight", "_fc.weight"]
        .iter()
        .find_map(|k| shapes.get(*k))
        .filter(|s| s.len() == 2)
        .map(|s| s[0])
        .ok_or_else(|| InferError::NoClassifier {
            keys: some_keys(shapes),
        })
}

/// The architecture a state dict belongs to: a ResNet (block kind from `conv3` in the
/// first block, blocks per stage from the `layerN.M` indices, width from `conv1.weight`) or
/// EfficientNet-Lite0 (`_conv_stem`/`conv_stem` and 16 blocks); classes from
/// [`classifier_outputs`]. Tensor shapes are checked when the weights are imported.
pub fn infer_architecture(shapes: &Shapes) -> Result<Architecture, InferError> {
    let classes = classifier_outputs(shapes)?;
    let unsupported = |reason: String| InferError::Unsupported {
        reason,
        keys: some_keys(shapes),
    };
    if let Some(stem) = shapes.get("conv1.weight") {
        let block = if shapes.contains_key("layer1.0.conv3.weight") {
            BlockKind::Bottleneck
        } else {
            BlockKind::Basic
        };
        let mut depths = [0; 4];
        for (i, depth) in depths.iter_mut().enumerate() {
            *depth = block_count(shapes, &format!("layer{}.", i + 1))
                .map_err(|e| unsupported(format!("layer{}: {e}", i + 1)))?;
        }
        let width = stem.first().copied().unwrap_or(0);
        let config = ResNetConfig::resnet18(classes)
            .with_depths(depths)
            .with_base_width(width);
        return Ok(Architecture::ResNet(ResNetConfig { block, ..config }));
    }
    for prefix in ["_", ""] {
        if shapes.contains_key(&format!("{prefix}conv_stem.weight")) {
            let blocks = block_count(shapes, &format!("{prefix}blocks."))
                .map_err(|e| unsupported(format!("EfficientNet blocks: {e}")))?;
            let lite0 = EfficientNetConfig::lite0(classes);
            if blocks != lite0.blocks.len() {
                return Err(unsupported(format!(
                    "an EfficientNet with {blocks} blocks (only Lite0's {} are supported)",
                    lite0.blocks.len()
                )));
            }
            return Ok(Architecture::EfficientNet(lite0));
        }
    }
    Err(unsupported(
        "neither a torchvision ResNet (`conv1`, `layer1.0`…) nor EfficientNet-Lite (`_conv_stem`, `_blocks.0`…)"
            .to_owned(),
    ))
}

/// How many blocks `prefix0.`, `prefix1.`, … there are (at least one, numbered from 0
/// without gaps).
fn block_count(shapes: &Shapes, prefix: &str) -> Result<usize, String> {
    let indices: BTreeSet<usize> = shapes
        .keys()
        .filter_map(|k| k.strip_prefix(prefix)?.split('.').next()?.parse().ok())
        .collect();
    match indices.last() {
        None => Err("no blocks".to_owned()),
        Some(&last) if last + 1 != indices.len() => Err(format!("block numbers skip below {last}")),
        Some(&last) => Ok(last + 1),
    }
}

/// The first few keys, for error messages.
fn some_keys(shapes: &Shapes) -> String {
    let shown: Vec<&str> = shapes.keys().take(6).map(String::as_str).collect();
    let more = shapes.len().saturating_sub(shown.len());
    match more {
        0 if shown.is_empty() => "none".to_owned(),
        0 => shown.join(", "),
        _ => format!("{} and {more} more", shown.join(", ")),
    }
}
