//! Maps that explain nothing, scored like any method so a method can be seen to beat them:
//! RandomCAM (pytorch-grad-cam's: random channel weights in [−1, 1)), the Sobel edges of the
//! input and a centred Gaussian.

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use super::TrustError;
use super::random::Rng;
use crate::cam::{CamError, read_f32};
use crate::model::{Layer, StagedClassifier};
use crate::render::normalize_like_pytorch_grad_cam;

/// A baseline map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// ReLU(Σ_k w_k A_k) at the layer, w_k uniform in [−1, 1).
    Random,
    /// Gradient magnitude (Sobel) of the input's channel mean.
    Sobel,
    /// exp(−r² / 2σ²) around the centre, σ = a quarter of the shorter side.
    Gaussian,
}

impl Baseline {
    /// Every baseline.
    pub const ALL: [Baseline; 3] = [Baseline::Random, Baseline::Sobel, Baseline::Gaussian];

    /// Lower-case name for reports (`baseline-random`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "baseline-random",
            Self::Sobel => "baseline-sobel",
            Self::Gaussian => "baseline-gaussian",
        }
    }
}

/// The baseline's map at the input's resolution, in [0, 1].
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`; `host_input`: its `3·H·W` values
pub async fn baseline_map<M: StagedClassifier + ?Sized>(
    baseline: Baseline,
    model: &M,
    input: &Tensor<4>,
    host_input: &[f32],
    layer: Layer,
    seed: u64,
) -> Result<Vec<f32>, TrustError> {
    let [_, _, h, w] = input.dims();
    let mut map = match baseline {
        Baseline::Random => {
            if !layer.is_spatial() || !model.has_layer(layer) {
                return Err(CamError::NoSuchLayer(layer).into());
            }
            let activations = model.forward_until(layer, input.clone());
            let [_, c, lh, lw] = activations.dims();
            let mut rng = Rng::new(seed);
            let weights: Vec<f32> = (0..c).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
            let weights =
                Tensor::<4>::from_data(TensorData::new(weights, [1, c, 1, 1]), &input.device());
            let mut raw = read_f32((activations * weights).sum_dim(1)).await?;
            raw.iter_mut().for_each(|v| *v = v.max(0.0));
            return Ok(normalize_like_pytorch_grad_cam(&raw, (lh, lw), (h, w)).0);
        }
        Baseline::Sobel => sobel(host_input, (h, w)),
        Baseline::Gaussian => {
            let sigma = h.min(w) as f32 / 4.0;
            let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
            (0..h * w)
                .map(|p| {
                    let (y, x) = ((p / w) as f32 - cy, (p % w) as f32 - cx);
                    (-(x * x + y * y) / (2.0 * sigma * sigma)).exp()
                })
                .collect()
        }
    };
    crate::render::scale_like_pytorch_grad_cam(&mut map);
    Ok(map)
}

/// Sobel gradient magnitude of the mean over channels, borders replicated.
fn sobel(image: &[f32], (h, w): (usize, usize)) -> Vec<f32> {
    let n = h * w;
    let grey: Vec<f32> = (0..n)
        .map(|p| (image[p] + image[n + p] + image[2 * n + p]) / 3.0)
        .collect();
    let at = |y: isize, x: isize| {
        grey[y.clamp(0, h as isize - 1) as usize * w + x.clamp(0, w as isize - 1) as usize]
    };
    (0..n)
        .map(|p| {
            let (y, x) = ((p / w) as isize, (p % w) as isize);
            let gx = at(y - 1, x + 1) + 2.0 * at(y, x + 1) + at(y + 1, x + 1)
                - at(y - 1, x - 1)
                - 2.0 * at(y, x - 1)
                - at(y + 1, x - 1);
            let gy = at(y + 1, x - 1) + 2.0 * at(y + 1, x) + at(y + 1, x + 1)
                - at(y - 1, x - 1)
                - 2.0 * at(y - 1, x)
                - at(y - 1, x + 1);
            (gx * gx + gy * gy).sqrt()
        })
        .collect()
}
