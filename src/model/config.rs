//! ResNet configurations: the torchvision family and tiny variants for tests.

use serde::{Deserialize, Serialize};

/// Residual block flavour (He et al. 2015, "Deep Residual Learning for Image Recognition").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// Two 3×3 convolutions (ResNet-18/34). Expansion 1.
    Basic,
    /// 1×1 → 3×3 → 1×1 convolutions (ResNet-50/101/152). Expansion 4. Torchvision's "V1.5":
    /// the stride sits on the 3×3 convolution, not on the first 1×1.
    Bottleneck,
}

impl BlockKind {
    /// Ratio of a block's output channels to its inner width.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// Blocks per stage of ResNet-18.
pub const RESNET18_DEPTHS: [usize; 4] = [2, 2, 2, 2];
/// Blocks per stage of ResNet-34.
pub const RESNET34_DEPTHS: [usize; 4] = [3, 4, 6, 3];
/// Blocks per stage of ResNet-50.
pub const RESNET50_DEPTHS: [usize; 4] = [3, 4, 6, 3];
/// Blocks per stage of ResNet-101.
pub const RESNET101_DEPTHS: [usize; 4] = [3, 4, 23, 3];
/// Blocks per stage of ResNet-152.
pub const RESNET152_DEPTHS: [usize; 4] = [3, 8, 36, 3];

/// Everything needed to build a ResNet; the torchvision models are presets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Basic or bottleneck blocks.
    pub block: BlockKind,
    /// Number of blocks in `layer1`..`layer4`.
    pub depths: [usize; 4],
    /// Channels of the stem and inner width of `layer1` (64 in torchvision); later stages double it.
    pub base_width: usize,
    /// Number of output classes (1000 for ImageNet-1k).
    pub num_classes: usize,
}

impl ResNetConfig {
    /// Torchvision `resnet18`.
    pub fn resnet18(num_classes: usize) -> Self {
        Self::new(BlockKind::Basic, RESNET18_DEPTHS, num_classes)
    }
    /// Torchvision `resnet34`.
    pub fn resnet34(num_classes: usize) -> Self {
        Self::new(BlockKind::Basic, RESNET34_DEPTHS, num_classes)
    }
    /// Torchvision `resnet50`.
    pub fn resnet50(num_classes: usize) -> Self {
        Self::new(BlockKind::Bottleneck, RESNET50_DEPTHS, num_classes)
    }
    /// Torchvision `resnet101`.
    pub fn resnet101(num_classes: usize) -> Self {
        Self::new(BlockKind::Bottleneck, RESNET101_DEPTHS, num_classes)
    }
    /// Torchvision `resnet152`.
    pub fn resnet152(num_classes: usize) -> Self {
        Self::new(BlockKind::Bottleneck, RESNET152_DEPTHS, num_classes)
    }

    fn new(block: BlockKind, depths: [usize; 4], num_classes: usize) -> Self {
        Self {
            block,
            depths,
            base_width: 64,
            num_classes,
        }
    }

    /// Same architecture with another base width (tiny variants for tests).
    pub fn with_base_width(mut self, base_width: usize) -> Self {
        self.base_width = base_width;
        self
    }

    /// A preset by torchvision name (`resnet18` … `resnet152`), with ImageNet's 1000 classes.
    pub fn by_name(name: &str) -> Option<Self> {
        let classes = crate::model::labels::IMAGENET_CLASSES;
        match name {
            "resnet18" => Some(Self::resnet18(classes)),
            "resnet34" => Some(Self::resnet34(classes)),
            "resnet50" => Some(Self::resnet50(classes)),
            "resnet101" => Some(Self::resnet101(classes)),
            "resnet152" => Some(Self::resnet152(classes)),
            _ => None,
        }
    }

    /// Same block kind with other stage depths (tiny variants for tests).
    pub fn with_depths(mut self, depths: [usize; 4]) -> Self {
        self.depths = depths;
        self
    }

    /// Output channels of stage `layer{i+1}`.
    pub fn stage_channels(&self, i: usize) -> usize {
        self.base_width * (1 << i) * self.block.expansion()
    }
}
