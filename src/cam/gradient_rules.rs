//! The gradient-based methods: each turns (activations A, gradients G) of one layer into the
//! per-channel, per-position contributions whose channel sum is the map (before ReLU).
//! Formulas as in pytorch-grad-cam (`base_cam.py` and each method's file).

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::method::GradientRule;

/// Sum over the two spatial axes, kept as `[b, C, 1, 1]`.
fn spatial_sum(x: Tensor<4>) -> Tensor<4> {
    x.sum_dim(3).sum_dim(2)
}

/// Contributions `[b, C, h, w]` by `rule` from `activations` and `gradients` (both
/// `[b, C, h, w]`, each row on its own); the map is their sum over channels (or their first
/// principal component with `eigen_smooth`).
pub fn contributions(
    rule: GradientRule,
    activations: Tensor<4>,
    gradients: Tensor<4>,
) -> Tensor<4> {
    let [_, _, h, w] = activations.dims();
    let weighted = |alpha: Tensor<4>| activations.clone() * alpha;
    match rule {
        // α_k = mean_hw G_k
        GradientRule::MeanGradient => weighted(spatial_sum(gradients).div_scalar((h * w) as f32)),
        // G ⊙ A
        GradientRule::GradientTimesActivation => gradients * activations,
        // α_k = Σ_hw ReLU(G)·a, a = G² / (2G² + Σ_hw A · G³ + 1e-6), a = 0 where G = 0
        GradientRule::PlusPlus => {
            let g2 = gradients.clone().powi_scalar(2);
            let g3 = g2.clone() * gradients.clone();
            let sum_a = spatial_sum(activations.clone());
            let a = g2.clone() / (g2.mul_scalar(2.0) + sum_a * g3).add_scalar(1e-6);
            let a = a.mask_fill(gradients.clone().equal_elem(0.0), 0.0);
            weighted(spatial_sum(relu(gradients) * a))
        }
        // α_k = Σ_hw G·A / (Σ_hw A + 1e-7)
        GradientRule::ActivationWeightedGradient => {
            let sum_a = spatial_sum(activations.clone()).add_scalar(1e-7);
            weighted(spatial_sum(gradients * activations.clone() / sum_a))
        }
        // ReLU(G) ⊙ A
        GradientRule::PositiveGradientTimesActivation => relu(gradients) * activations,
    }
}
