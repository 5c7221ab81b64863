//! Grad-CAM at `layer4` for any class without a new forward or backward pass.
//!
//! After `layer4` every network in the zoo is global average pooling and a linear layer, so
//! d(logit_c)/dA_k(h, w) = W[c, k] / (H·W) at every position: α_k = W[c, k] / (H·W) and the map
//! is ReLU(Σ_k W[c, k]·A_k) / (H·W). One product with the cached activations gives the map
//! for any class (the oracle test checks this equals the autodiff path). The page does the
//! product on the host: no device work per switch.

use super::target::Target;
use super::{CamError, CamOutput};
use crate::model::{Layer, Stage};

/// Re-targets a single-layer `layer4` Grad-CAM (or HiResCAM, identical there) result to
/// another target from host copies of the classifier weights (`[features, classes]`, burn's
/// layout, as read back once per model) and of the `layer4` activations (`[C, h, w]`, read
/// back once per photo), reusing its logits. A contrast uses `W[A] − W[B]`. A class switch
/// is then C·h·w multiply-adds on the CPU, with no device work and no read-back.
pub fn grad_cam_for_class_on_host(
    classifier: &[f32],
    activations: &[f32],
    previous: &CamOutput,
    target: Target,
) -> Result<CamOutput, CamError> {
    if !retargetable(previous) {
        return Err(CamError::NotLastStage(previous.layer));
    }
    let resolved = target.resolve(&previous.logits)?;
    let classes = previous.logits.len();
    let positions = previous.height * previous.width;
    let channels = classifier.len() / classes.max(1);
    if channels * classes != classifier.len() || channels * positions != activations.len() {
        return Err(CamError::NotLastStage(previous.layer));
    }
    let scale = 1.0 / positions as f32;
    let mut map = vec![0f32; positions];
    for (k, plane) in activations.chunks_exact(positions).enumerate() {
        let row = &classifier[k * classes..(k + 1) * classes];
        let w = resolved
            .other
            .map_or(row[resolved.class], |o| row[resolved.class] - row[o]);
        map.iter_mut().zip(plane).for_each(|(m, a)| *m += w * a);
    }
    map.iter_mut().for_each(|v| *v = v.max(0.0) * scale);
    Ok(CamOutput::new(
        map,
        (previous.height, previous.width),
        resolved,
        previous.logits.clone(),
        previous.layer,
        previous.activations.clone(),
        previous.method,
    ))
}

/// Whether `previous` is a Grad-CAM (or HiResCAM) result at `layer4`, the case both
/// re-targeting paths handle.
fn retargetable(previous: &CamOutput) -> bool {
    previous.method.retargets_from_classifier() && previous.layer == Layer::from(Stage::Layer4)
}
