//! EfficientNet-Lite with its forward pass split into the same named stages as the ResNets,
//! so that every CAM method and layer choice works on it unchanged.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::efficientnet_config::EfficientNetConfig;
use super::mbconv::{MbConv, relu6, same_conv, tf_batch_norm};
use super::stage::Stage;
use super::staged::StagedClassifier;

/// EfficientNet-Lite with the PyTorch port's module names (without leading underscores):
/// `conv_stem`, `bn0`, `blocks.N.*`, `conv_head`, `bn1`, `fc`.
#[derive(Module, Debug)]
pub struct EfficientNet {
    /// 3×3 stride-2 stem convolution.
    pub conv_stem: Conv2d,
    /// Stem batch norm.
    pub bn0: BatchNorm,
    /// All MBConv blocks in execution order.
    pub blocks: Vec<MbConv>,
    /// 1×1 head convolution (the last step of `layer4`).
    pub conv_head: Conv2d,
    /// Head batch norm.
    pub bn1: BatchNorm,
    /// Global average pool.
    pub avgpool: AdaptiveAvgPool2d,
    /// Classifier.
    pub fc: Linear,
    /// How many blocks each feature stage runs (stem, layer1 … layer4).
    #[module(skip)]
    pub stage_blocks: [usize; 5],
}

impl EfficientNetConfig {
    /// Builds the network with random weights. Call [`Module::valid`] (or load weights and
    /// then `valid`) before inference so that batch norm uses its running statistics.
    pub fn init(&self, device: &Device) -> EfficientNet {
        let last = self
            .blocks
            .last()
            .map_or(self.stem_channels, |b| b.out_channels);
        EfficientNet {
            conv_stem: same_conv([3, self.stem_channels], 3, 2, 1, device),
            bn0: tf_batch_norm(self.stem_channels, device),
            blocks: self.blocks.iter().map(|b| MbConv::new(b, device)).collect(),
            conv_head: same_conv([last, self.head_channels], 1, 1, 1, device),
            bn1: tf_batch_norm(self.head_channels, device),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: LinearConfig::new(self.head_channels, self.num_classes).init(device),
            stage_blocks: self.stage_blocks,
        }
    }
}

impl EfficientNet {
    fn run_blocks(&self, stage: usize, x: Tensor<4>) -> Tensor<4> {
        let start: usize = self.stage_blocks[..stage].iter().sum();
        self.blocks[start..start + self.stage_blocks[stage]]
            .iter()
            .fold(x, |x, block| block.forward(x))
    }
}

impl StagedClassifier for EfficientNet {
    /// Runs one stage.
    ///
    /// # Shapes
    /// - `Stem`: `[b, 3, H, W]` → `[b, 16, H/2, W/2]` (stem conv, bn, relu6, first block)
    /// - `Layer1..Layer3`: previous output → strides 4, 8, 16
    /// - `Layer4`: → `[b, head_channels, H/32, W/32]` (blocks, head conv, bn, relu6)
    /// - `Head`: → logits `[b, classes, 1, 1]`
    fn stage(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match stage {
            Stage::Stem => {
                let x = relu6(self.bn0.forward(self.conv_stem.forward(x)));
                self.run_blocks(0, x)
            }
            Stage::Layer1 => self.run_blocks(1, x),
            Stage::Layer2 => self.run_blocks(2, x),
            Stage::Layer3 => self.run_blocks(3, x),
            Stage::Layer4 => {
                let x = self.run_blocks(4, x);
                relu6(self.bn1.forward(self.conv_head.forward(x)))
            }
            Stage::Head => {
                let pooled = self.avgpool.forward(x);
                let [b, c, _, _] = pooled.dims();
                let logits = self.fc.forward(pooled.reshape([b, c]));
                let [_, k] = logits.dims();
                logits.reshape([b, k, 1, 1])
            }
        }
    }

    fn classifier(&self) -> &Linear {
        &self.fc
    }
}
