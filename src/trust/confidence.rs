//! Confidence change when the input is multiplied by the map, as pytorch-grad-cam's
//! `CamMultImageConfidenceChange`, `DropInConfidence` and `IncreaseInConfidence`
//! (metrics/cam_mult_image.py): the network input (after normalisation) times the
//! normalised map, and the change of the target's softmax probability.

use burn::tensor::{Tensor, TensorData};

use super::TrustError;
use super::score::probabilities;
use crate::model::StagedClassifier;

/// The three confidence scores of one map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceChange {
    /// p(input × map) − p(input) (`CamMultImageConfidenceChange`).
    pub change: f32,
    /// max(−change, 0) (`DropInConfidence`).
    pub drop: f32,
    /// 1 when the change is positive, else 0 (`IncreaseInConfidence`).
    pub increase: f32,
}

impl ConfidenceChange {
    /// The scores for a probability before (`original`) and after masking.
    pub fn from_probabilities(original: f32, masked: f32) -> Self {
        let change = masked - original;
        Self {
            change,
            drop: (-change).max(0.0),
            increase: if change > 0.0 { 1.0 } else { 0.0 },
        }
    }
}

/// Scores the input multiplied by `map` (`H × W`, normalised to `[0, 1]`).
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`
pub async fn confidence_change<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    map: &[f32],
    class: usize,
) -> Result<ConfidenceChange, TrustError> {
    let [_, _, h, w] = input.dims();
    let mask = Tensor::<4>::from_data(TensorData::new(map.to_vec(), [1, 1, h, w]), &input.device());
    let batch = Tensor::cat(vec![input.clone(), input.clone() * mask], 0);
    let p = probabilities(model, batch, class, 2).await?;
    Ok(ConfidenceChange::from_probabilities(p[0], p[1]))
}
