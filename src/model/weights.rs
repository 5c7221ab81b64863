//! Weights on disk and over the wire: burnpack files that describe their own architecture
//! and input normalisation, and the mapping from torchvision state-dict keys to our paths.

use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType, Device};

use super::network::{Architecture, Network};
use crate::imageio::Normalization;

/// Burnpack metadata key holding the [`Architecture`] as JSON.
pub const ARCH_METADATA_KEY: &str = "gradcam.arch";
/// Burnpack metadata key holding the input [`Normalization`] as JSON.
pub const NORMALIZATION_METADATA_KEY: &str = "gradcam.normalization";
/// Burnpack metadata key saying whether the weights were trained (`"true"`/`"false"`).
pub const TRAINED_METADATA_KEY: &str = "gradcam.trained";
/// Burnpack metadata key holding the class names as a JSON list, one per class (absent:
/// ImageNet's names for 1000 classes, `class N` otherwise).
pub const LABELS_METADATA_KEY: &str = "gradcam.labels";

/// Why a weights file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not a burnpack file, or a damaged one.
    #[error("not a valid burnpack weights file: {0}")]
    Format(String),
    /// The file does not say which architecture it holds.
    #[error("the weights file does not describe its architecture (metadata `{ARCH_METADATA_KEY}`)")]
    MissingArchitecture,
    /// The architecture or normalisation description is invalid.
    #[error("the weights file's description is invalid: {0}")]
    BadArchitecture(String),
    /// Tensors missing, unexpected or of the wrong shape.
    #[error("the weights do not fit the architecture: {0}")]
    Mismatch(String),
}

/// What a weights file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsInfo {
    /// The architecture the tensors belong to.
    pub arch: Architecture,
    /// How photos must be normalised for these weights.
    pub normalization: Normalization,
    /// Whether these are trained weights (untrained ones give meaningless heatmaps).
    pub trained: bool,
    /// The classes' names, when the file names them (one per class).
    pub labels: Option<Vec<String>>,
}

impl WeightsInfo {
    /// Untrained weights for `arch`, normalised the way its trained weights would be.
    pub fn untrained(arch: Architecture) -> Self {
        let normalization = default_normalization(&arch);
        Self {
            arch,
            normalization,
            trained: false,
            labels: None,
        }
    }
}

/// The normalisation the published weights of an architecture were trained with: ImageNet
/// mean/std for torchvision's ResNets, `(x − 127) / 128` for EfficientNet-Lite (converted
/// from TensorFlow; see `weights/README.md` for the check on real photos).
pub fn default_normalization(arch: &Architecture) -> Normalization {
    match arch {
        Architecture::ResNet(_) => Normalization::IMAGENET,
        Architecture::EfficientNet(_) => Normalization::CENTRED_127,
    }
}

/// Reads the architecture and provenance stored in a burnpack file.
pub fn read_info(bytes: &[u8]) -> Result<WeightsInfo, WeightsError> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    let metadata = reader.metadata();
    let arch: Architecture = serde_json::from_str(
        metadata
            .get(ARCH_METADATA_KEY)
            .ok_or(WeightsError::MissingArchitecture)?,
    )
    .map_err(|e| WeightsError::BadArchitecture(e.to_string()))?;
    let normalization = match metadata.get(NORMALIZATION_METADATA_KEY) {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| WeightsError::BadArchitecture(e.to_string()))?
        }
        None => default_normalization(&arch),
    };
    let trained = metadata
        .get(TRAINED_METADATA_KEY)
        .is_some_and(|v| v == "true");
    let labels: Option<Vec<String>> = match metadata.get(LABELS_METADATA_KEY) {
        Some(json) => Some(
            serde_json::from_str(json).map_err(|e| WeightsError::BadArchitecture(e.to_string()))?,
        ),
        None => None,
    };
    if let Some(names) = &labels
        && names.len() != arch.num_classes()
    {
        return Err(WeightsError::BadArchitecture(format!(
            "{} class names for {} classes",
            names.len(),
            arch.num_classes()
        )));
    }
    Ok(WeightsInfo {
        arch,
        normalization,
        trained,
        labels,
    })
}

/// Builds the network a burnpack file describes and loads its tensors (f16 storage is widened
/// to f32). The returned model is in inference mode, with every batch norm folded into the
/// convolution before it (see [`super::fold`]); save the unfolded one `import` builds.
pub fn load_network(
    bytes: Vec<u8>,
    device: &Device,
) -> Result<(Network, WeightsInfo), WeightsError> {
    let info = read_info(&bytes)?;
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    let network = match info.arch.init(device) {
        Network::ResNet(mut m) => {
            check_applied(m.load_from(&mut store))?;
            Network::ResNet(m)
        }
        Network::EfficientNet(mut m) => {
            check_applied(m.load_from(&mut store))?;
            Network::EfficientNet(m)
        }
    };
    Ok((network.valid().fold_batch_norms(), info))
}

fn check_applied<E: std::fmt::Display>(
    result: Result<burn::store::ApplyResult, E>,
) -> Result<(), WeightsError> {
    let result = result.map_err(|e| WeightsError::Mismatch(e.to_string()))?;
    if result.errors.is_empty() && result.missing.is_empty() && result.unused.is_empty() {
        return Ok(());
    }
    Err(WeightsError::Mismatch(describe_mismatch(
        &result
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>(),
        &result
            .missing
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>(),
        &result.unused,
    )))
}

/// A short description of what did not fit: the first few problems of each kind.
pub(crate) fn describe_mismatch(
    errors: &[String],
    missing: &[String],
    unused: &[String],
) -> String {
    fn few(items: &[String]) -> String {
        let shown: Vec<&str> = items.iter().take(4).map(String::as_str).collect();
        let more = items.len().saturating_sub(4);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
    let mut parts = Vec::new();
    if !errors.is_empty() {
        parts.push(format!("{} wrong: {}", errors.len(), few(errors)));
    }
    if !missing.is_empty() {
        parts.push(format!("{} missing: {}", missing.len(), few(missing)));
    }
    if !unused.is_empty() {
        parts.push(format!("{} unexpected: {}", unused.len(), few(unused)));
    }
    parts.join("; ")
}

/// Serialises a model to burnpack bytes, with its description in the metadata.
/// `half` stores convolution and linear tensors as f16 (batch norm stays f32).
pub fn save_network(
    model: &Network,
    info: &WeightsInfo,
    half: bool,
) -> Result<Vec<u8>, WeightsError> {
    let arch = serde_json::to_string(&info.arch).expect("architecture serialises");
    let normalization =
        serde_json::to_string(&info.normalization).expect("normalisation serialises");
    let mut store = BurnpackStore::from_bytes(None)
        .metadata(ARCH_METADATA_KEY, arch)
        .metadata(NORMALIZATION_METADATA_KEY, normalization)
        .metadata(TRAINED_METADATA_KEY, info.trained.to_string());
    if let Some(names) = &info.labels {
        let json = serde_json::to_string(names).expect("names serialise");
        store = store.metadata(LABELS_METADATA_KEY, json);
    }
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    let saved = match model {
        Network::ResNet(m) => m.save_into(&mut store),
        Network::EfficientNet(m) => m.save_into(&mut store),
    };
    saved.map_err(|e| WeightsError::Format(e.to_string()))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Maps a torchvision ResNet state-dict key to our parameter path, or `None` for entries we
/// do not keep. One rule per pattern:
/// - `num_batches_tracked` counters: dropped (inference never updates statistics);
/// - batch norm `weight` / `bias` → `gamma` / `beta` (burn's names; `running_*` keep theirs);
/// - `layerN.M.downsample.0.*` → `layerN.M.downsample.conv.*` and `.1.` → `.bn.`;
/// - everything else (`conv1.weight`, `layer3.22.conv2.weight`, `fc.bias`, …) is unchanged.
///
/// `fc.weight` keeps its name but is stored transposed in burn (`[in, out]`); the
/// state-dict importer transposes it.
pub fn torchvision_key_to_burn(key: &str) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    let mut parts: Vec<&str> = key.split('.').collect();
    if let Some(i) = parts.iter().position(|p| *p == "downsample")
        && let Some(next) = parts.get_mut(i + 1)
    {
        *next = match *next {
            "0" => "conv",
            "1" => "bn",
            other => other,
        };
    }
    let is_batch_norm = parts.len() >= 2 && {
        let module = parts[parts.len() - 2];
        module.starts_with("bn") || module == "bn"
    };
    if is_batch_norm && let Some(last) = parts.last_mut() {
        *last = match *last {
            "weight" => "gamma",
            "bias" => "beta",
            other => other,
        };
    }
    Some(parts.join("."))
}
