//! EfficientNet-Lite with its forward pass split into the same named stages as the ResNets,
//! so that every CAM method and layer choice works on it unchanged.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::efficientnet_config::EfficientNetConfig;
use super::fold::{conv_bn, fold};
use super::mbconv::{MbConv, relu6, same_conv, tf_batch_norm};
use super::stage::Stage;
use super::staged::{StagedClassifier, pool_and_classify};

/// EfficientNet-Lite with the PyTorch port's module names (without leading underscores):
/// `conv_stem`, `bn0`, `blocks.N.*`, `conv_head`, `bn1`, `fc`.
#[derive(Module, Debug)]
pub struct EfficientNet {
    /// 3×3 stride-2 stem convolution.
    pub conv_stem: Conv2d,
    /// Stem batch norm; `None` once folded into `conv_stem`.
    pub bn0: Option<BatchNorm>,
    /// All MBConv blocks in execution order.
    pub blocks: Vec<MbConv>,
    /// 1×1 head convolution (the last step of `layer4`).
    pub conv_head: Conv2d,
    /// Head batch norm; `None` once folded into `conv_head`.
    pub bn1: Option<BatchNorm>,
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
            bn0: Some(tf_batch_norm(self.stem_channels, device)),
            blocks: self.blocks.iter().map(|b| MbConv::new(b, device)).collect(),
            conv_head: same_conv([last, self.head_channels], 1, 1, 1, device),
            bn1: Some(tf_batch_norm(self.head_channels, device)),
            fc: LinearConfig::new(self.head_channels, self.num_classes).init(device),
            stage_blocks: self.stage_blocks,
        }
    }
}

/// # Shapes
/// - `Stem`: `[b, 3, H, W]` → `[b, 16, H/2, W/2]` (stem conv, bn, relu6, then block 0)
/// - `Layer1..Layer3`: previous output → strides 4, 8, 16 (MBConv blocks)
/// - `Layer4`: → `[b, head_channels, H/32, W/32]` (blocks, then head conv, bn, relu6)
/// - `Head`: → logits `[b, classes, 1, 1]` (average pool, fc)
impl StagedClassifier for EfficientNet {
    fn block_count(&self, stage: Stage) -> usize {
        self.stage_range(stage).len()
    }

    fn enter(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match stage {
            Stage::Stem => relu6(conv_bn(&self.conv_stem, self.bn0.as_ref(), x)),
            _ => x,
        }
    }

    fn block(&self, stage: Stage, index: usize, x: Tensor<4>) -> Tensor<4> {
        self.blocks[self.stage_range(stage)][index].forward(x)
    }

    fn exit(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match stage {
            Stage::Layer4 => relu6(conv_bn(&self.conv_head, self.bn1.as_ref(), x)),
            Stage::Head => pool_and_classify(&self.fc, x),
            _ => x,
        }
    }

    fn classifier(&self) -> &Linear {
        &self.fc
    }
}

impl EfficientNet {
    /// The same network with every batch norm folded into its convolution (inference only).
    pub fn fold_batch_norms(self) -> Self {
        Self {
            conv_stem: fold(self.conv_stem, self.bn0),
            bn0: None,
            blocks: self
                .blocks
                .into_iter()
                .map(MbConv::fold_batch_norms)
                .collect(),
            conv_head: fold(self.conv_head, self.bn1),
            bn1: None,
            ..self
        }
    }

    /// This network with the weights of `stage` taken from `fresh` (a network of the same
    /// configuration, e.g. freshly initialised: the cascading randomisation test). The stem
    /// includes `conv_stem`, `layer4` the head convolution, `head` only the classifier.
    pub fn with_stage_from(mut self, stage: Stage, fresh: &EfficientNet) -> Self {
        let range = self.stage_range(stage);
        self.blocks[range.clone()].clone_from_slice(&fresh.blocks[range]);
        match stage {
            Stage::Stem => {
                self.conv_stem = fresh.conv_stem.clone();
                self.bn0 = fresh.bn0.clone();
            }
            Stage::Layer4 => {
                self.conv_head = fresh.conv_head.clone();
                self.bn1 = fresh.bn1.clone();
            }
            Stage::Head => self.fc = fresh.fc.clone(),
            Stage::Layer1 | Stage::Layer2 | Stage::Layer3 => {}
        }
        self
    }

    /// Indices into `blocks` of the blocks of `stage`.
    fn stage_range(&self, stage: Stage) -> std::ops::Range<usize> {
        let index = match stage {
            Stage::Stem => 0,
            Stage::Layer1 => 1,
            Stage::Layer2 => 2,
            Stage::Layer3 => 3,
            Stage::Layer4 => 4,
            Stage::Head => return 0..0,
        };
        let start: usize = self.stage_blocks[..index].iter().sum();
        start..start + self.stage_blocks[index]
    }
}
