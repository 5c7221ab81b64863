//! Batch norm folded into the convolution before it, once, when weights are loaded for
//! inference: `bn(conv(x)) = conv'(x)` with `w' = w·s`, `b' = β + (b − μ)·s` and
//! `s = γ / √(σ² + ε)` per output channel. Every block output (the layers a CAM method reads)
//! is unchanged up to rounding; the network runs one pass per convolution instead of the
//! four elementwise passes of each batch norm (104 of them in ResNet-101).
//!
//! A folded network has no batch norms left (its `bn` fields are `None`), so it is never
//! saved: [`crate::model::weights::save_network`] takes the unfolded one `convert` builds.

use burn::module::{Param, ParamId};
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::flex_ops;

/// `conv` followed by `bn` when it is still there (unfolded), or `conv` alone once folded.
pub(crate) fn conv_bn(conv: &Conv2d, bn: Option<&BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    let out = flex_ops::conv2d(conv, x);
    match bn {
        Some(bn) => bn.forward(out),
        None => out,
    }
}

/// `relu(conv_bn(conv, bn, x) + residual)` (no residual: `relu(conv_bn(conv, bn, x))`); once
/// folded, the convolution adds the residual and applies the ReLU as it writes its output.
pub(crate) fn conv_bn_relu(
    conv: &Conv2d,
    bn: Option<&BatchNorm>,
    x: Tensor<4>,
    residual: Option<Tensor<4>>,
) -> Tensor<4> {
    let Some(bn) = bn else {
        return flex_ops::conv2d_relu(conv, x, residual);
    };
    let out = bn.forward(flex_ops::conv2d(conv, x));
    relu(match residual {
        Some(residual) => out + residual,
        None => out,
    })
}

/// Folds `bn` (in inference mode: running statistics) into `conv`, returning the
/// convolution that computes both; `None` leaves `conv` as it is (already folded).
pub(crate) fn fold(conv: Conv2d, bn: Option<BatchNorm>) -> Conv2d {
    let Some(bn) = bn else { return conv };
    let var = bn.running_var.value();
    let scale = bn.gamma.val() / (var + bn.epsilon).sqrt();
    let shift = match &conv.bias {
        Some(bias) => bias.val() - bn.running_mean.value(),
        None => bn.running_mean.value().neg(),
    };
    let bias = bn.beta.val() + shift * scale.clone();
    let [channels] = scale.dims();
    let weight = conv
        .weight
        .map(|w| w * scale.reshape([channels as i32, 1, 1, 1]));
    Conv2d {
        weight,
        bias: Some(Param::initialized(ParamId::new(), bias)),
        ..conv
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution, Tensor};

    use super::*;

    /// Batch norm with non-trivial statistics and affine parameters.
    fn trained_batch_norm(channels: usize, device: &Device) -> BatchNorm {
        let mut bn = BatchNormConfig::new(channels).init(device).valid();
        let uniform =
            |lo, hi| Tensor::<1>::random([channels], Distribution::Uniform(lo, hi), device);
        bn.gamma = Param::from_tensor(uniform(0.5, 2.0));
        bn.beta = Param::from_tensor(uniform(-1.0, 1.0));
        bn.running_mean = burn::module::RunningState::new(uniform(-0.5, 0.5));
        bn.running_var = burn::module::RunningState::new(uniform(0.1, 3.0));
        bn
    }

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn folded_convolution_equals_convolution_then_batch_norm() {
        let device = Device::default();
        for bias in [false, true] {
            let conv = Conv2dConfig::new([5, 7], [3, 3])
                .with_stride([2, 2])
                .with_bias(bias)
                .init(&device);
            let bn = trained_batch_norm(7, &device);
            let x = Tensor::<4>::random([2, 5, 9, 11], Distribution::Normal(0.0, 1.0), &device);
            let reference = conv_bn(&conv, Some(&bn), x.clone());
            let folded = fold(conv, Some(bn));
            assert!(folded.bias.is_some());
            let diff = max_abs_diff(conv_bn(&folded, None, x), reference);
            assert!(diff < 1e-5, "bias {bias}: max |Δ| {diff}");
        }
    }

    #[test]
    fn folding_nothing_leaves_the_convolution_as_it_is() {
        let device = Device::default();
        let conv = Conv2dConfig::new([3, 4], [1, 1])
            .with_bias(false)
            .init(&device);
        let x = Tensor::<4>::random([1, 3, 4, 4], Distribution::Normal(0.0, 1.0), &device);
        let before = conv.forward(x.clone());
        let after = fold(conv, None);
        assert!(after.bias.is_none());
        assert_eq!(max_abs_diff(after.forward(x), before), 0.0);
    }
}
