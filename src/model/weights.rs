//! Weights on disk and over the wire: burnpack files that describe their own architecture,
//! and the mapping from torchvision state-dict keys to our parameter paths.

use burn::module::Module;
use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType, Device};

use super::config::ResNetConfig;
use super::resnet::ResNet;

/// Burnpack metadata key holding the [`ResNetConfig`] as JSON.
pub const ARCH_METADATA_KEY: &str = "gradcam.resnet";
/// Burnpack metadata key saying whether the weights were trained (`"true"`/`"false"`).
pub const TRAINED_METADATA_KEY: &str = "gradcam.trained";

/// Why a weights file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not a burnpack file, or a damaged one.
    #[error("not a valid burnpack weights file: {0}")]
    Format(String),
    /// The file does not say which architecture it holds.
    #[error("the weights file does not describe its architecture (metadata `{ARCH_METADATA_KEY}`)")]
    MissingArchitecture,
    /// The architecture description is not a valid config.
    #[error("the weights file's architecture description is invalid: {0}")]
    BadArchitecture(String),
    /// Tensors missing, unexpected or of the wrong shape.
    #[error("the weights do not fit the architecture: {0}")]
    Mismatch(String),
}

/// What a weights file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsInfo {
    /// The architecture the tensors belong to.
    pub config: ResNetConfig,
    /// Whether these are trained weights (untrained ones give meaningless heatmaps).
    pub trained: bool,
}

/// Reads the architecture and provenance stored in a burnpack file.
pub fn read_info(bytes: &[u8]) -> Result<WeightsInfo, WeightsError> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    let metadata = reader.metadata();
    let arch = metadata
        .get(ARCH_METADATA_KEY)
        .ok_or(WeightsError::MissingArchitecture)?;
    let config =
        serde_json::from_str(arch).map_err(|e| WeightsError::BadArchitecture(e.to_string()))?;
    let trained = metadata
        .get(TRAINED_METADATA_KEY)
        .is_some_and(|v| v == "true");
    Ok(WeightsInfo { config, trained })
}

/// Builds the network a burnpack file describes and loads its tensors (f16 storage is widened
/// to f32). The returned model is in inference mode (batch norm uses running statistics).
pub fn load_resnet(bytes: Vec<u8>, device: &Device) -> Result<(ResNet, WeightsInfo), WeightsError> {
    let info = read_info(&bytes)?;
    let mut model = info.config.init(device);
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    let result = model
        .load_from(&mut store)
        .map_err(|e| WeightsError::Mismatch(e.to_string()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(WeightsError::Mismatch(format!(
            "{} errors, missing {:?}, unexpected {:?}",
            result.errors.len(),
            result.missing.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            result.unused
        )));
    }
    Ok((model.valid(), info))
}

/// Serialises a model to burnpack bytes, with its architecture in the metadata.
/// `half` stores convolution and linear weights as f16 (batch norm stays f32).
pub fn save_resnet(
    model: &ResNet,
    info: &WeightsInfo,
    half: bool,
) -> Result<Vec<u8>, WeightsError> {
    let arch = serde_json::to_string(&info.config).expect("config serialises");
    let mut store = BurnpackStore::from_bytes(None)
        .metadata(ARCH_METADATA_KEY, arch)
        .metadata(TRAINED_METADATA_KEY, info.trained.to_string());
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model
        .save_into(&mut store)
        .map_err(|e| WeightsError::Format(e.to_string()))?;
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
