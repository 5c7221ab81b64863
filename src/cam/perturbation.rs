//! Gradient-free channel weights: Score-CAM and Ablation-CAM, each one batched forward pass
//! per group of channels. Both follow pytorch-grad-cam's definitions, except Ablation-CAM for
//! a target score that is not positive (see [`ablation_weights`]).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use super::deviation::{ABLATION_SCORE_EPSILON, Deviation};
use super::target::ResolvedTarget;
use super::{CamError, read_f32};
use crate::model::{Layer, StagedClassifier};

/// Inputs per batched forward pass.
const BATCH: usize = 16;

/// Score-CAM weights: each channel, upsampled to the input (bilinear, corners aligned) and
/// min-max normalised, masks the input; the target scores of the masked inputs go through a
/// softmax over channels.
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`; `activations`: `[1, C, h, w]` → weights `[1, C, 1, 1]`
pub async fn score_cam_weights<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    activations: &Tensor<4>,
    target: &ResolvedTarget,
) -> Result<Tensor<4>, CamError> {
    let [_, _, height, width] = input.dims();
    let [_, channels, _, _] = activations.dims();
    let upsampled = interpolate(
        activations.clone(),
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size([height, width]),
    )
    .reshape([channels, 1, height, width]);
    let flat = upsampled.clone().reshape([channels, height * width]);
    let min = flat.clone().min_dim(1).reshape([channels, 1, 1, 1]);
    let max = flat.max_dim(1).reshape([channels, 1, 1, 1]);
    let masks = (upsampled - min.clone()) / (max - min).add_scalar(1e-8);
    let mut scores = Vec::with_capacity(channels);
    for start in (0..channels).step_by(BATCH) {
        let n = BATCH.min(channels - start);
        let batch = masks.clone().narrow(0, start, n) * input.clone();
        let logits = model.forward(batch);
        scores.extend(read_f32(target.score(logits)).await?);
    }
    let scores = Tensor::<1>::from_floats(scores.as_slice(), &input.device());
    Ok(softmax(scores, 0).reshape([1, channels, 1, 1]))
}

/// Ablation-CAM weights ([`ablation_weights`] of the target's score and its scores with each
/// channel ablated), and the [`Deviation`] from pytorch-grad-cam if one applied. A channel is
/// ablated by setting it to 0 when the activations' minimum is 0 (after a ReLU), otherwise to
/// that minimum − 10⁷, as pytorch-grad-cam does.
///
/// # Shapes
/// - `activations`: `[1, C, h, w]` of `layer` → weights `[1, C, 1, 1]`
pub async fn ablation_cam_weights<M: StagedClassifier + ?Sized>(
    model: &M,
    layer: Layer,
    activations: &Tensor<4>,
    logits: &[f32],
    target: &ResolvedTarget,
) -> Result<(Tensor<4>, Option<Deviation>), CamError> {
    let [_, channels, h, w] = activations.dims();
    let device = activations.device();
    let min = read_f32(activations.clone().min().reshape([1])).await?[0];
    let ablated_value = if min == 0.0 { 0.0 } else { min - 1e7 };
    let original = target.score_of(logits);
    let mut scores = Vec::with_capacity(channels);
    for start in (0..channels).step_by(BATCH) {
        let n = BATCH.min(channels - start);
        // One-hot masks: row i ablates channel start + i.
        let mut mask = vec![0f32; n * channels];
        for i in 0..n {
            mask[i * channels + start + i] = 1.0;
        }
        let mask = Tensor::<1>::from_floats(mask.as_slice(), &device).reshape([n, channels, 1, 1]);
        let keep = mask.clone().neg().add_scalar(1.0);
        let batch =
            activations.clone().expand([n, channels, h, w]) * keep + mask.mul_scalar(ablated_value);
        let logits = model.forward_from(layer, batch);
        scores.extend(read_f32(target.score(logits)).await?);
    }
    let (weights, deviation) = ablation_weights(original, &scores);
    let weights = Tensor::<1>::from_floats(weights.as_slice(), &device);
    Ok((weights.reshape([1, channels, 1, 1]), deviation))
}

/// Ablation-CAM's weight of each channel: `(y − y_k) / max(|y|, ε)`, with `y` the target's
/// score and `y_k` its score with channel `k` ablated, ε = [`ABLATION_SCORE_EPSILON`].
///
/// For `y > ε` this is pytorch-grad-cam's `(y − y_k) / y` (ablation_cam.py, line 145). It
/// deviates on purpose below: dividing by a negative `y` flips every weight, so the map
/// would show the channels whose removal *raises* the score, and `y` near 0 gives inf/NaN
/// (a flat map). Here a channel always weighs by how much the score drops without it; the
/// [`Deviation`] returned says when this differed from pytorch-grad-cam.
pub fn ablation_weights(score: f32, ablated: &[f32]) -> (Vec<f32>, Option<Deviation>) {
    let denominator = score.abs().max(ABLATION_SCORE_EPSILON);
    let weights = ablated.iter().map(|s| (score - s) / denominator).collect();
    let deviation =
        (score <= ABLATION_SCORE_EPSILON).then_some(Deviation::AblationScoreNotPositive { score });
    (weights, deviation)
}
