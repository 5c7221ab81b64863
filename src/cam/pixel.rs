//! Pixel-space attributions: vanilla gradient saliency and SmoothGrad, at input resolution.

use burn::tensor::{Distribution, Tensor};

use super::target::ResolvedTarget;
use super::{CamError, read_f32};
use crate::model::StagedClassifier;

/// Noisy copies per batched pass in SmoothGrad.
const BATCH: usize = 8;

/// SmoothGrad's settings (Smilkov et al. 2017 recommend 10–20 % noise, 50 samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothGradOptions {
    /// Number of noisy copies averaged.
    pub samples: usize,
    /// Noise standard deviation as a fraction of the input's value range.
    pub noise: f32,
}

impl Default for SmoothGradOptions {
    fn default() -> Self {
        Self {
            samples: 50,
            noise: 0.15,
        }
    }
}

/// `max_c |d score / d input_c|` for each input in the batch, summed over the batch.
///
/// # Shapes
/// - `inputs`: `[n, 3, H, W]` → `[1, 1, H, W]`
fn summed_saliency<M: StagedClassifier + ?Sized>(
    model: &M,
    inputs: Tensor<4>,
    target: &ResolvedTarget,
) -> Result<Tensor<4>, CamError> {
    let leaf = inputs.without_autodiff().autodiff().require_grad();
    let gradient = target.gradient(model.forward(leaf.clone()), &leaf, "the input")?;
    Ok(gradient.abs().max_dim(1).sum_dim(0))
}

/// Vanilla gradient saliency of one input, `H × W` values, row-major.
pub async fn saliency<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    target: &ResolvedTarget,
) -> Result<Vec<f32>, CamError> {
    read_f32(summed_saliency(model, input.clone(), target)?).await
}

/// SmoothGrad: the mean saliency over `samples` copies of the input with Gaussian noise of
/// standard deviation `noise × (max − min)` of the input. Stochastic by design.
pub async fn smooth_grad<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    target: &ResolvedTarget,
    options: SmoothGradOptions,
) -> Result<Vec<f32>, CamError> {
    let [_, channels, height, width] = input.dims();
    let range = read_f32((input.clone().max() - input.clone().min()).reshape([1])).await?[0];
    let sigma = f64::from(options.noise * range);
    let mut total: Option<Tensor<4>> = None;
    for start in (0..options.samples.max(1)).step_by(BATCH) {
        let n = BATCH.min(options.samples.max(1) - start);
        let noise = Tensor::<4>::random(
            [n, channels, height, width],
            Distribution::Normal(0.0, sigma),
            &input.device(),
        );
        let noisy = input.clone().expand([n, channels, height, width]) + noise;
        let part = summed_saliency(model, noisy, target)?;
        total = Some(match total {
            Some(t) => t + part,
            None => part,
        });
    }
    let mean = total
        .expect("at least one sample")
        .div_scalar(options.samples.max(1) as f32);
    read_f32(mean).await
}
