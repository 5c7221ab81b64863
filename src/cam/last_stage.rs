//! Grad-CAM at `layer4` for any class without a new forward or backward pass.
//!
//! After `layer4` every network in the zoo is global average pooling and a linear layer, so
//! d(logit_c)/dA_k(h, w) = W[c, k] / (H·W) at every position: α_k = W[c, k] / (H·W) and the map
//! is ReLU(Σ_k W[c, k]·A_k) / (H·W). One product with the cached activations gives the map
//! for any class (the oracle test checks this equals the autodiff path).

use super::gradcam::weighted_map;
use super::{CamError, CamOutput, read_f32};
use crate::model::{Layer, Stage, StagedClassifier};

/// Re-targets a `layer4` Grad-CAM result to another class, reusing its activations and logits.
pub async fn grad_cam_for_class_at_layer4<M: StagedClassifier + ?Sized>(
    model: &M,
    previous: &CamOutput,
    class: usize,
) -> Result<CamOutput, CamError> {
    if previous.layer != Layer::from(Stage::Layer4) {
        return Err(CamError::NotLastStage(previous.layer));
    }
    let classes = previous.logits.len();
    if class >= classes {
        return Err(CamError::NoSuchClass { class, classes });
    }
    let activations = previous.activations.clone();
    let [_, channels, height, width] = activations.dims();
    // burn stores the linear weight as [in, out]: column `class` holds W[class, ·].
    let weights = model
        .classifier()
        .weight
        .val()
        .narrow(1, class, 1)
        .reshape([1, channels, 1, 1])
        .div_scalar((height * width) as f32);
    Ok(CamOutput {
        map: read_f32(weighted_map(activations.clone(), weights)).await?,
        height,
        width,
        class,
        logits: previous.logits.clone(),
        layer: Stage::Layer4.into(),
        activations,
    })
}
