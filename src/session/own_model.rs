//! A model of the user's own, in the page: a PyTorch state dict dropped on it is described
//! ("ResNet-50, 7 classes") before anything is converted, then converted in the worker with
//! the normalisation and class names the user gave, by the converter `gradcam convert` uses.
//! The page stores the burnpack it gets and loads it as any other model.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::imageio::Normalization;
use crate::model::Architecture;
use crate::model::import::{
    ConvertOptions, ImportError, checkpoint_architecture, convert_checkpoint,
};
use crate::model::labels::Labels;
use crate::model::weights::default_normalization;

/// What a state dict holds: `{"arch","title","description","classes","tensors",
/// "normalization"}`, the normalisation being the architecture's usual one (offered to the
/// user to edit).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointReport {
    /// The preset name (`resnet50`), or `custom`.
    pub arch: String,
    /// In words: "ResNet-50".
    pub title: String,
    /// "ResNet-50, 7 classes".
    pub description: String,
    /// Outputs of the classifier.
    pub classes: usize,
    /// Tensors in the file.
    pub tensors: usize,
    /// The normalisation the converted weights use.
    pub normalization: Normalization,
    /// The classes' names when a labels file gave them.
    pub labels: Option<Vec<String>>,
}

impl CheckpointReport {
    fn new(arch: &Architecture, tensors: usize, normalization: Normalization) -> Self {
        Self {
            arch: arch.name(),
            title: arch.title(),
            description: arch.describe(),
            classes: arch.num_classes(),
            tensors,
            normalization,
            labels: None,
        }
    }
}

/// What the user chose before converting: `{"normalization":{"mean":[…],"std":[…]},
/// "labels":{"file","text"}}`, both optional.
#[derive(Debug, Default, Deserialize)]
pub struct OwnModelSettings {
    #[serde(default)]
    normalization: Option<Normalization>,
    #[serde(default)]
    labels: Option<LabelsFile>,
}

/// A labels file as the page read it.
#[derive(Debug, Deserialize)]
struct LabelsFile {
    file: String,
    text: String,
}

/// Why an own model could not be described or converted. Each message names the problem.
#[derive(Debug, thiserror::Error)]
pub enum OwnModelError {
    #[error("bad settings: {0}")]
    Settings(#[from] serde_json::Error),
    #[error("the normalisation's standard deviations must be positive and finite")]
    BadNormalization,
    #[error(transparent)]
    Labels(#[from] crate::model::labels::LabelsError),
    #[error(transparent)]
    Import(#[from] ImportError),
}

impl OwnModelSettings {
    /// Reads the page's JSON.
    pub fn parse(json: &str) -> Result<Self, OwnModelError> {
        let settings: Self = serde_json::from_str(json)?;
        if let Some(n) = &settings.normalization
            && !(n.std.iter().all(|s| s.is_finite() && *s > 0.0)
                && n.mean.iter().all(|m| m.is_finite()))
        {
            return Err(OwnModelError::BadNormalization);
        }
        Ok(settings)
    }
}

/// Describes the state dict in `bytes` (the file `name`) without converting it.
pub fn inspect_checkpoint(bytes: &[u8], name: &str) -> Result<CheckpointReport, OwnModelError> {
    let (arch, tensors) = checkpoint_architecture(bytes, name)?;
    let normalization = default_normalization(&arch);
    Ok(CheckpointReport::new(&arch, tensors, normalization))
}

/// Converts the state dict in `bytes` (the file `name`) as `settings` say, on the CPU
/// backend, into burnpack bytes (f32, as the page's own files) and their description.
pub fn convert_own_model(
    bytes: &[u8],
    name: &str,
    settings: &OwnModelSettings,
) -> Result<(Vec<u8>, CheckpointReport), OwnModelError> {
    let labels = match &settings.labels {
        Some(l) => Some((Labels::parse(&l.file, &l.text)?, l.file.clone())),
        None => None,
    };
    let options = ConvertOptions {
        normalization: settings.normalization,
        labels,
        ..ConvertOptions::default()
    };
    let converted = convert_checkpoint(bytes, name, &options, &Device::flex())?;
    let info = converted.info;
    let mut report = CheckpointReport::new(&info.arch, converted.tensors, info.normalization);
    report.labels = info.labels;
    Ok((converted.bytes, report))
}
