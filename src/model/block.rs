//! Residual blocks with torchvision's field names (`conv1`, `bn1`, …, `downsample`).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::config::BlockKind;
use super::fold::{conv_bn, conv_bn_relu, fold};

/// A bias-free `k×k` convolution with torchvision's initialisation
/// (Kaiming normal, fan-out, ReLU gain) and "same" padding for odd `k`.
pub(crate) fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(Initializer::KaimingNormal {
            gain: core::f64::consts::SQRT_2,
            fan_out_only: true,
        })
        .init(device)
}

/// Torchvision's BatchNorm2d defaults (ε = 1e-5).
pub(crate) fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

/// The 1×1 projection on the skip path when shape changes (torchvision `downsample.0/1`).
#[derive(Module, Debug)]
pub struct Downsample {
    /// 1×1 strided convolution (torchvision `downsample.0`).
    pub conv: Conv2d,
    /// Its batch norm (torchvision `downsample.1`); `None` once folded into `conv`.
    pub bn: Option<BatchNorm>,
}

/// One residual block. A basic block leaves `conv3`/`bn3` empty; a bottleneck fills them.
/// Every batch norm is `None` once folded into its convolution (see [`super::fold`]).
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// First convolution: 3×3 strided (basic) or 1×1 reduce (bottleneck).
    pub conv1: Conv2d,
    /// Batch norm after `conv1`.
    pub bn1: Option<BatchNorm>,
    /// Second convolution: 3×3 (strided in a bottleneck, torchvision's V1.5).
    pub conv2: Conv2d,
    /// Batch norm after `conv2`.
    pub bn2: Option<BatchNorm>,
    /// Bottleneck only: 1×1 expansion to `4 × width`.
    pub conv3: Option<Conv2d>,
    /// Bottleneck only: batch norm after `conv3`.
    pub bn3: Option<BatchNorm>,
    /// Projection of the identity path when stride or channel count change.
    pub downsample: Option<Downsample>,
}

impl ResidualBlock {
    /// A block taking `in_channels` to `width × expansion` channels with the given stride.
    pub fn new(
        kind: BlockKind,
        in_channels: usize,
        width: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let out_channels = width * kind.expansion();
        let downsample = (stride != 1 || in_channels != out_channels).then(|| Downsample {
            conv: conv([in_channels, out_channels], 1, stride, device),
            bn: Some(batch_norm(out_channels, device)),
        });
        match kind {
            BlockKind::Basic => Self {
                conv1: conv([in_channels, width], 3, stride, device),
                bn1: Some(batch_norm(width, device)),
                conv2: conv([width, width], 3, 1, device),
                bn2: Some(batch_norm(width, device)),
                conv3: None,
                bn3: None,
                downsample,
            },
            BlockKind::Bottleneck => Self {
                conv1: conv([in_channels, width], 1, 1, device),
                bn1: Some(batch_norm(width, device)),
                conv2: conv([width, width], 3, stride, device),
                bn2: Some(batch_norm(width, device)),
                conv3: Some(conv([width, out_channels], 1, 1, device)),
                bn3: Some(batch_norm(out_channels, device)),
                downsample,
            },
        }
    }

    /// # Shapes
    /// - `x`: `[batch, in_channels, h, w]`
    /// - output: `[batch, width × expansion, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.downsample {
            Some(down) => conv_bn(&down.conv, down.bn.as_ref(), x.clone()),
            None => x.clone(),
        };
        let out = conv_bn_relu(&self.conv1, self.bn1.as_ref(), x, None);
        match &self.conv3 {
            Some(conv3) => {
                let out = conv_bn_relu(&self.conv2, self.bn2.as_ref(), out, None);
                conv_bn_relu(conv3, self.bn3.as_ref(), out, Some(identity))
            }
            None => conv_bn_relu(&self.conv2, self.bn2.as_ref(), out, Some(identity)),
        }
    }

    /// The same block with every batch norm folded into its convolution.
    pub fn fold_batch_norms(self) -> Self {
        Self {
            conv1: fold(self.conv1, self.bn1),
            bn1: None,
            conv2: fold(self.conv2, self.bn2),
            bn2: None,
            conv3: self.conv3.map(|conv| fold(conv, self.bn3)),
            bn3: None,
            downsample: self.downsample.map(|down| Downsample {
                conv: fold(down.conv, down.bn),
                bn: None,
            }),
        }
    }
}
