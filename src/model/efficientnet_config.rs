//! EfficientNet-Lite configurations (Tan & Le 2019; the "Lite" variants drop
//! squeeze-excitation and use ReLU6 so that they quantise and run well on small devices).

use serde::{Deserialize, Serialize};

/// One inverted-residual (MBConv) block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MbConvSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Side of the depthwise kernel (3 or 5).
    pub kernel: usize,
    /// Stride of the depthwise convolution (1 or 2).
    pub stride: usize,
    /// Expansion ratio of the first 1×1 convolution (1 means no expansion convolution).
    pub expand: usize,
}

/// Everything needed to build an EfficientNet-Lite; `lite0` is the preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfficientNetConfig {
    /// Channels of the 3×3 stride-2 stem convolution.
    pub stem_channels: usize,
    /// The MBConv blocks in execution order.
    pub blocks: Vec<MbConvSpec>,
    /// How many blocks belong to `stem`, `layer1`, `layer2`, `layer3` and `layer4`
    /// (the same five feature stages as a ResNet: strides 2, 4, 8, 16, 32).
    pub stage_blocks: [usize; 5],
    /// Channels of the 1×1 head convolution, which ends `layer4`.
    pub head_channels: usize,
    /// Number of output classes.
    pub num_classes: usize,
}

/// Batch norm ε of the TensorFlow originals.
pub const EFFICIENTNET_BN_EPSILON: f64 = 1e-3;

impl EfficientNetConfig {
    /// EfficientNet-Lite0: the B0 block table without squeeze-excitation, 4.7 M parameters.
    pub fn lite0(num_classes: usize) -> Self {
        // (in, out, kernel, stride, expand, repeats) per B0 stage.
        let table = [
            (32, 16, 3, 1, 1, 1),
            (16, 24, 3, 2, 6, 2),
            (24, 40, 5, 2, 6, 2),
            (40, 80, 3, 2, 6, 3),
            (80, 112, 5, 1, 6, 3),
            (112, 192, 5, 2, 6, 4),
            (192, 320, 3, 1, 6, 1),
        ];
        let mut blocks = Vec::new();
        for (in_channels, out_channels, kernel, stride, expand, repeats) in table {
            for i in 0..repeats {
                blocks.push(MbConvSpec {
                    in_channels: if i == 0 { in_channels } else { out_channels },
                    out_channels,
                    kernel,
                    stride: if i == 0 { stride } else { 1 },
                    expand,
                });
            }
        }
        Self {
            stem_channels: 32,
            blocks,
            // stride 2: block 0 | 4: 1–2 | 8: 3–4 | 16: 5–10 | 32: 11–15 (+ head conv)
            stage_blocks: [1, 2, 2, 6, 5],
            head_channels: 1280,
            num_classes,
        }
    }
}
