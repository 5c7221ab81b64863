//! The torchvision ResNet (He et al. 2015) with its forward pass split into named stages.
//!
//! The forward pass is split into [`Stage`]s through [`StagedClassifier`].

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::block::{ResidualBlock, batch_norm, conv};
use super::config::ResNetConfig;
use super::flex_ops::max_pool2d;
use super::fold::{conv_bn_relu, fold};
use super::stage::Stage;
use super::staged::{StagedClassifier, pool_and_classify};

/// ResNet with torchvision's module names, so that state-dict keys map one to one
/// (see [`crate::model::weights`] for the few renames).
#[derive(Module, Debug)]
pub struct ResNet {
    /// 7×7 stride-2 stem convolution.
    pub conv1: Conv2d,
    /// Stem batch norm; `None` once folded into `conv1`.
    pub bn1: Option<BatchNorm>,
    /// 3×3 stride-2 max pool after the stem.
    pub maxpool: MaxPool2d,
    /// Stage 1 (stride 1).
    pub layer1: Vec<ResidualBlock>,
    /// Stage 2 (stride 2).
    pub layer2: Vec<ResidualBlock>,
    /// Stage 3 (stride 2).
    pub layer3: Vec<ResidualBlock>,
    /// Stage 4 (stride 2).
    pub layer4: Vec<ResidualBlock>,
    /// Classifier.
    pub fc: Linear,
}

impl ResNetConfig {
    /// Builds the network with torchvision's random initialisation. Call
    /// [`Module::valid`] (or load weights and then `valid`) before inference so that
    /// batch norm uses its running statistics.
    pub fn init(&self, device: &Device) -> ResNet {
        let width = self.base_width;
        let mut in_channels = width;
        let mut stage = |index: usize| {
            let stage_width = width << index;
            let stride = if index == 0 { 1 } else { 2 };
            let blocks: Vec<_> = (0..self.depths[index])
                .map(|i| {
                    let block = ResidualBlock::new(
                        self.block,
                        in_channels,
                        stage_width,
                        if i == 0 { stride } else { 1 },
                        device,
                    );
                    in_channels = stage_width * self.block.expansion();
                    block
                })
                .collect();
            blocks
        };
        let (layer1, layer2, layer3, layer4) = (stage(0), stage(1), stage(2), stage(3));
        let features = self.stage_channels(3);
        // torchvision's nn.Linear default: U(-1/√fan_in, 1/√fan_in) for weight and bias.
        let bound = 1.0 / (features as f64).sqrt();
        ResNet {
            conv1: conv([3, width], 7, 2, device),
            bn1: Some(batch_norm(width, device)),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
            layer4,
            fc: LinearConfig::new(features, self.num_classes)
                .with_initializer(Initializer::Uniform {
                    min: -bound,
                    max: bound,
                })
                .init(device),
        }
    }
}

impl ResNet {
    /// The same network with every batch norm folded into its convolution (inference only).
    pub fn fold_batch_norms(self) -> Self {
        let fold_stage = |blocks: Vec<ResidualBlock>| {
            blocks
                .into_iter()
                .map(ResidualBlock::fold_batch_norms)
                .collect()
        };
        Self {
            conv1: fold(self.conv1, self.bn1),
            bn1: None,
            layer1: fold_stage(self.layer1),
            layer2: fold_stage(self.layer2),
            layer3: fold_stage(self.layer3),
            layer4: fold_stage(self.layer4),
            ..self
        }
    }

    /// This network with the weights of `stage` taken from `fresh` (a network of the same
    /// configuration, e.g. freshly initialised: the cascading randomisation test).
    pub fn with_stage_from(mut self, stage: Stage, fresh: &ResNet) -> Self {
        self.blocks_mut(stage).clone_from_slice(fresh.blocks(stage));
        match stage {
            Stage::Stem => {
                self.conv1 = fresh.conv1.clone();
                self.bn1 = fresh.bn1.clone();
            }
            Stage::Head => self.fc = fresh.fc.clone(),
            Stage::Layer1 | Stage::Layer2 | Stage::Layer3 | Stage::Layer4 => {}
        }
        self
    }

    fn blocks(&self, stage: Stage) -> &[ResidualBlock] {
        match stage {
            Stage::Layer1 => &self.layer1,
            Stage::Layer2 => &self.layer2,
            Stage::Layer3 => &self.layer3,
            Stage::Layer4 => &self.layer4,
            Stage::Stem | Stage::Head => &[],
        }
    }

    fn blocks_mut(&mut self, stage: Stage) -> &mut [ResidualBlock] {
        match stage {
            Stage::Layer1 => &mut self.layer1,
            Stage::Layer2 => &mut self.layer2,
            Stage::Layer3 => &mut self.layer3,
            Stage::Layer4 => &mut self.layer4,
            Stage::Stem | Stage::Head => &mut [],
        }
    }
}

/// # Shapes
/// - `Stem`: `[b, 3, H, W]` → `[b, w, H/4, W/4]` (conv, bn, relu, maxpool; no blocks)
/// - `LayerN`: previous stage's output → `[b, C_N, H/2^(N+1), W/2^(N+1)]` (residual blocks)
/// - `Head`: `[b, C_4, h, w]` → logits `[b, classes, 1, 1]` (average pool, fc)
impl StagedClassifier for ResNet {
    fn block_count(&self, stage: Stage) -> usize {
        self.blocks(stage).len()
    }

    fn enter(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match stage {
            Stage::Stem => max_pool2d(
                &self.maxpool,
                conv_bn_relu(&self.conv1, self.bn1.as_ref(), x, None),
            ),
            _ => x,
        }
    }

    fn block(&self, stage: Stage, index: usize, x: Tensor<4>) -> Tensor<4> {
        self.blocks(stage)[index].forward(x)
    }

    fn exit(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match stage {
            Stage::Head => pool_and_classify(&self.fc, x),
            _ => x,
        }
    }

    fn classifier(&self) -> &Linear {
        &self.fc
    }
}
