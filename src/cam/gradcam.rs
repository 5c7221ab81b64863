//! Grad-CAM (Selvaraju et al. 2017) with burn autodiff.
//!
//! The activations `A` of the chosen stage become a fresh autodiff leaf; the rest of the
//! network runs on top of it with the weights as constants, so the backward pass computes
//! d(logit)/dA and nothing else (no weight gradients).

use burn::tensor::{Tensor, activation::relu};

use super::read_f32;
use crate::model::{Layer, StagedClassifier};

/// Which class the map explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The class with the highest logit.
    #[default]
    TopClass,
    /// A given class index.
    Class(usize),
}

/// A Grad-CAM map at feature resolution, before upsampling and normalisation.
#[derive(Debug, Clone)]
pub struct CamOutput {
    /// `ReLU(Σ_k α_k A_k)`, row-major, `height × width`.
    pub map: Vec<f32>,
    /// Feature-map height.
    pub height: usize,
    /// Feature-map width.
    pub width: usize,
    /// The class that was explained.
    pub class: usize,
    /// All logits of the forward pass, `[classes]`.
    pub logits: Vec<f32>,
    /// The explained layer.
    pub layer: Layer,
    /// That layer's activations `A` (`[1, C, h, w]`, no autodiff), kept on the device so that
    /// another class can be explained without a new forward pass.
    pub activations: Tensor<4>,
}

/// Why a map could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CamError {
    /// The requested layer has no spatial output.
    #[error("layer `{0}` has no spatial feature map; choose stem or layer1..layer4")]
    NotSpatial(Layer),
    /// The requested block does not exist in this network.
    #[error("this network has no layer `{0}`")]
    NoSuchLayer(Layer),
    /// The requested class does not exist.
    #[error("class {class} does not exist (the model has {classes} classes)")]
    NoSuchClass {
        /// Requested index.
        class: usize,
        /// Number of classes of the model.
        classes: usize,
    },
    /// The shortcut for switching classes only exists at the last stage.
    #[error("switching classes without a new pass needs a `layer4` result, not `{0}`")]
    NotLastStage(Layer),
    /// The device failed (lost GPU, failed read-back).
    #[error("the compute device failed: {0}")]
    Device(String),
}

/// Computes Grad-CAM for one image.
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`, on a device of the model's backend (autodiff not needed)
/// - output map: `h × w` of `layer`'s output
pub async fn grad_cam<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    layer: impl Into<Layer>,
    target: Target,
) -> Result<CamOutput, CamError> {
    let layer = layer.into();
    if !layer.is_spatial() {
        return Err(CamError::NotSpatial(layer));
    }
    if !model.has_layer(layer) {
        return Err(CamError::NoSuchLayer(layer));
    }
    let activations = model.forward_until(layer, input.without_autodiff());
    let leaf = activations.clone().autodiff().require_grad();
    let logits = model.forward_from(layer, leaf.clone());
    let [_, classes] = logits.dims();
    let logit_values = read_f32(logits.clone().without_autodiff()).await?;
    let class = match target {
        Target::Class(c) if c < classes => c,
        Target::Class(c) => return Err(CamError::NoSuchClass { class: c, classes }),
        Target::TopClass => argmax(&logit_values),
    };
    let score = logits.narrow(1, class, 1).sum();
    let grads = score.backward();
    let gradient = leaf
        .grad(&grads)
        .ok_or_else(|| CamError::Device("no gradient reached the target layer".into()))?;
    let [_, _, height, width] = activations.dims();
    let alpha = gradient.mean_dim(3).mean_dim(2); // [1, C, 1, 1]
    let map = read_f32(weighted_map(activations.clone(), alpha)).await?;
    Ok(CamOutput {
        map,
        height,
        width,
        class,
        logits: logit_values,
        layer,
        activations,
    })
}

/// The step every CAM method shares: ReLU(Σ_k w_k·A_k), the channel-weighted sum of the
/// activations with negative evidence clipped.
///
/// # Shapes
/// - `activations`: `[1, C, h, w]`; `channel_weights`: `[1, C, 1, 1]`
/// - output: `[1, 1, h, w]`
pub(crate) fn weighted_map(activations: Tensor<4>, channel_weights: Tensor<4>) -> Tensor<4> {
    relu((activations * channel_weights).sum_dim(1))
}

/// Index of the largest value (the first one on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}
