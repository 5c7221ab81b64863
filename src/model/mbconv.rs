//! The inverted-residual block of EfficientNet-Lite, with the PyTorch port's field names
//! (`expand_conv`, `bn0`, `depthwise_conv`, `bn1`, `project_conv`, `bn2`, minus the
//! leading underscores).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::efficientnet_config::{EFFICIENTNET_BN_EPSILON, MbConvSpec};
use super::fold::{conv_bn, fold};

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
/// keeps the resolution and the channel count. Every batch norm is `None` once folded into
/// its convolution (see [`super::fold`]).
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion to `expand × in` channels; absent when the ratio is 1.
    pub expand_conv: Option<Conv2d>,
    /// Batch norm after the expansion (absent with it, or folded).
    pub bn0: Option<BatchNorm>,
    /// Depthwise k×k convolution (one group per channel), carries the block's stride.
    pub depthwise_conv: Conv2d,
    /// Batch norm after the depthwise convolution.
    pub bn1: Option<BatchNorm>,
    /// 1×1 linear projection to the output channels (no activation after it).
    pub project_conv: Conv2d,
    /// Batch norm after the projection.
    pub bn2: Option<BatchNorm>,
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
            bn1: Some(tf_batch_norm(inner, device)),
            project_conv: same_conv([inner, spec.out_channels], 1, 1, 1, device),
            bn2: Some(tf_batch_norm(spec.out_channels, device)),
        }
    }

    /// # Shapes
    /// - `x`: `[batch, in, h, w]`
    /// - output: `[batch, out, ⌈h / stride⌉, ⌈w / stride⌉]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut out = x.clone();
        if let Some(conv) = &self.expand_conv {
            out = relu6(conv_bn(conv, self.bn0.as_ref(), out));
        }
        out = relu6(conv_bn(&self.depthwise_conv, self.bn1.as_ref(), out));
        out = conv_bn(&self.project_conv, self.bn2.as_ref(), out);
        let keeps_shape = self.depthwise_conv.stride == [1, 1] && out.dims() == x.dims();
        if keeps_shape { out + x } else { out }
    }

    /// The same block with every batch norm folded into its convolution.
    pub fn fold_batch_norms(self) -> Self {
        Self {
            expand_conv: self.expand_conv.map(|conv| fold(conv, self.bn0)),
            bn0: None,
            depthwise_conv: fold(self.depthwise_conv, self.bn1),
            bn1: None,
            project_conv: fold(self.project_conv, self.bn2),
            bn2: None,
        }
    }
}
