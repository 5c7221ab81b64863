//! One type for every network in the zoo, and the description stored with its weights.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::config::ResNetConfig;
use super::efficientnet::EfficientNet;
use super::efficientnet_config::EfficientNetConfig;
use super::labels::IMAGENET_CLASSES;
use super::resnet::ResNet;
use super::stage::Stage;
use super::staged::StagedClassifier;

/// Which network a weights file holds; serialised into the file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum Architecture {
    /// A torchvision ResNet.
    ResNet(ResNetConfig),
    /// An EfficientNet-Lite.
    EfficientNet(EfficientNetConfig),
}

/// Names accepted by [`Architecture::by_name`].
pub const ARCHITECTURE_NAMES: [&str; 6] = [
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "efficientnet-lite0",
];

impl Architecture {
    /// A preset by name (`resnet18` … `resnet152`, `efficientnet-lite0`), with ImageNet's
    /// 1000 classes.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "efficientnet-lite0" => Some(Self::EfficientNet(EfficientNetConfig::lite0(
                IMAGENET_CLASSES,
            ))),
            _ => ResNetConfig::by_name(name).map(Self::ResNet),
        }
    }

    /// The preset name of this architecture (whatever its number of classes), or `custom`
    /// for other configurations.
    pub fn name(&self) -> String {
        let classes = self.num_classes();
        ARCHITECTURE_NAMES
            .into_iter()
            .find(|n| {
                Self::by_name(n)
                    .map(|a| a.with_num_classes(classes))
                    .as_ref()
                    == Some(self)
            })
            .unwrap_or("custom")
            .to_owned()
    }

    /// The architecture in words: "ResNet-50", "EfficientNet-Lite0", or the shape of a
    /// custom ResNet.
    pub fn title(&self) -> String {
        let name = self.name();
        if let Some(depth) = name.strip_prefix("resnet") {
            format!("ResNet-{depth}")
        } else if let Some(variant) = name.strip_prefix("efficientnet-lite") {
            format!("EfficientNet-Lite{variant}")
        } else if let Self::ResNet(c) = self {
            format!(
                "custom ResNet ({:?} blocks, depths {:?}, width {})",
                c.block, c.depths, c.base_width
            )
        } else {
            name
        }
    }

    /// "ResNet-50, 7 classes".
    pub fn describe(&self) -> String {
        format!("{}, {} classes", self.title(), self.num_classes())
    }

    /// The same architecture with `classes` outputs.
    pub fn with_num_classes(mut self, classes: usize) -> Self {
        match &mut self {
            Self::ResNet(c) => c.num_classes = classes,
            Self::EfficientNet(c) => c.num_classes = classes,
        }
        self
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> usize {
        match self {
            Self::ResNet(c) => c.num_classes,
            Self::EfficientNet(c) => c.num_classes,
        }
    }

    /// Builds the network with random weights (training mode; see [`Network::valid`]).
    pub fn init(&self, device: &Device) -> Network {
        match self {
            Self::ResNet(c) => Network::ResNet(Box::new(c.init(device))),
            Self::EfficientNet(c) => Network::EfficientNet(Box::new(c.init(device))),
        }
    }
}

/// A network of any family. Weights files store the inner module's parameters directly, so
/// the variant never appears in a parameter path.
#[derive(Debug, Clone)]
pub enum Network {
    /// A ResNet.
    ResNet(Box<ResNet>),
    /// An EfficientNet-Lite.
    EfficientNet(Box<EfficientNet>),
}

impl Network {
    /// Switches batch norm to its running statistics (inference mode).
    pub fn valid(self) -> Self {
        match self {
            Self::ResNet(m) => Self::ResNet(Box::new(m.valid())),
            Self::EfficientNet(m) => Self::EfficientNet(Box::new(m.valid())),
        }
    }

    /// The same network with every batch norm folded into the convolution before it
    /// (inference only; see [`super::fold`]).
    pub fn fold_batch_norms(self) -> Self {
        match self {
            Self::ResNet(m) => Self::ResNet(Box::new(m.fold_batch_norms())),
            Self::EfficientNet(m) => Self::EfficientNet(Box::new(m.fold_batch_norms())),
        }
    }

    /// This network with the weights of `stage` taken from `fresh`, a network of the same
    /// architecture (the cascading randomisation test replaces stages one at a time).
    ///
    /// # Panics
    /// If `fresh` is of the other family (a ResNet for an EfficientNet or back).
    pub fn with_stage_from(self, stage: Stage, fresh: &Network) -> Self {
        match (self, fresh) {
            (Self::ResNet(m), Self::ResNet(f)) => {
                Self::ResNet(Box::new(m.with_stage_from(stage, f)))
            }
            (Self::EfficientNet(m), Self::EfficientNet(f)) => {
                Self::EfficientNet(Box::new(m.with_stage_from(stage, f)))
            }
            _ => panic!("with_stage_from: `fresh` must be of the same architecture"),
        }
    }

    /// Number of stored values (parameters and batch-norm statistics).
    pub fn num_params(&self) -> usize {
        match self {
            Self::ResNet(m) => m.num_params(),
            Self::EfficientNet(m) => m.num_params(),
        }
    }
}

impl StagedClassifier for Network {
    fn block_count(&self, stage: Stage) -> usize {
        match self {
            Self::ResNet(m) => m.block_count(stage),
            Self::EfficientNet(m) => m.block_count(stage),
        }
    }

    fn enter(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ResNet(m) => m.enter(stage, x),
            Self::EfficientNet(m) => m.enter(stage, x),
        }
    }

    fn block(&self, stage: Stage, index: usize, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ResNet(m) => m.block(stage, index, x),
            Self::EfficientNet(m) => m.block(stage, index, x),
        }
    }

    fn exit(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ResNet(m) => m.exit(stage, x),
            Self::EfficientNet(m) => m.exit(stage, x),
        }
    }

    fn classifier(&self) -> &Linear {
        match self {
            Self::ResNet(m) => m.classifier(),
            Self::EfficientNet(m) => m.classifier(),
        }
    }
}

impl From<ResNet> for Network {
    fn from(model: ResNet) -> Self {
        Self::ResNet(Box::new(model))
    }
}

impl From<EfficientNet> for Network {
    fn from(model: EfficientNet) -> Self {
        Self::EfficientNet(Box::new(model))
    }
}
