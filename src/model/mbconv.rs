//! The inverted-residual block of EfficientNet-Lite, with the PyTorch port's field names
//! (`expand_conv`, `bn0`, `depthwise_conv`, `bn1`, `project_conv`, `bn2`, minus the
//! leading underscores).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::efficientnet_config::{EFFICIENTNET_BN_EPSILON, MbConvSpec};

/// ReLU6, the activation of the Lite variants: `min(max(x, 0), 6)`.
pub fn relu6(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 6.0)
}

/// A bias-free convolution with TensorFlow's "same" padding (for stride 2 on an even input
/// the extra row and column go at the bottom and right, as in the original checkpoints).
pub(crate) fn same_conv(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    groups: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false)
        .init(device)
}

/// Batch norm with the TensorFlow originals' ε.
pub(crate) fn tf_batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(EFFICIENTNET_BN_EPSILON)
        .init(device)
}

/// Expand (1×1) → depthwise (k×k) → project (1×1), with a skip connection when the block
/// keeps the resolution and the channel count.
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion to `expand × in` channels; absent when the ratio is 1.
    pub expand_conv: Option<Conv2d>,
    /// Batch norm after the expansion.
    pub bn0: Option<BatchNorm>,
    /// Depthwise k×k convolution (one group per channel), carries the block's stride.
    pub depthwise_conv: Conv2d,
    /// Batch norm after the depthwise convolution.
    pub bn1: BatchNorm,
    /// 1×1 linear projection to the output channels (no activation after it).
    pub project_conv: Conv2d,
    /// Batch norm after the projection.
    pub bn2: BatchNorm,
}

impl MbConv {
    /// A block with freshly initialised weights.
    pub fn new(spec: &MbConvSpec, device: &Device) -> Self {
        let inner = spec.in_channels * spec.expand;
        let expanding = spec.expand != 1;
        Self {
            expand_conv: expanding.then(|| same_conv([spec.in_channels, inner], 1, 1, 1, device)),
            bn0: expanding.then(|| tf_batch_norm(inner, device)),
            depthwise_conv: same_conv([inner, inner], spec.kernel, spec.stride, inner, device),
            bn1: tf_batch_norm(inner, device),
            project_conv: same_conv([inner, spec.out_channels], 1, 1, 1, device),
            bn2: tf_batch_norm(spec.out_channels, device),
        }
    }

    /// # Shapes
    /// - `x`: `[batch, in, h, w]`
    /// - output: `[batch, out, ⌈h / stride⌉, ⌈w / stride⌉]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut out = x.clone();
        if let (Some(conv), Some(bn)) = (&self.expand_conv, &self.bn0) {
            out = relu6(bn.forward(conv.forward(out)));
        }
        out = relu6(self.bn1.forward(self.depthwise_conv.forward(out)));
        out = self.bn2.forward(self.project_conv.forward(out));
        let keeps_shape = self.depthwise_conv.stride == [1, 1] && out.dims() == x.dims();
        if keeps_shape { out + x } else { out }
    }
}
