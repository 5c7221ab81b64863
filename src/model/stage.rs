//! Named stages of the forward pass; any feature stage can be the Grad-CAM target.

use std::fmt;
use std::str::FromStr;

/// A stage of the network, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// conv1 + bn1 + relu + maxpool (stride 4).
    Stem,
    /// First residual stage (stride 4).
    Layer1,
    /// Second residual stage (stride 8).
    Layer2,
    /// Third residual stage (stride 16).
    Layer3,
    /// Fourth residual stage (stride 32); the usual Grad-CAM layer.
    Layer4,
    /// Average pool + fully connected classifier.
    Head,
}

impl Stage {
    /// Every stage in execution order.
    pub const ALL: [Stage; 6] = [
        Stage::Stem,
        Stage::Layer1,
        Stage::Layer2,
        Stage::Layer3,
        Stage::Layer4,
        Stage::Head,
    ];

    /// Stages whose output is a spatial feature map (valid Grad-CAM targets).
    pub const FEATURES: [Stage; 5] = [
        Stage::Stem,
        Stage::Layer1,
        Stage::Layer2,
        Stage::Layer3,
        Stage::Layer4,
    ];

    /// The name used on the command line, in the page and in torchvision (`layer4`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Stem => "stem",
            Stage::Layer1 => "layer1",
            Stage::Layer2 => "layer2",
            Stage::Layer3 => "layer3",
            Stage::Layer4 => "layer4",
            Stage::Head => "head",
        }
    }

    /// What a map at this stage shows, for the page's help next to the layer control.
    pub fn help(self) -> &'static str {
        match self {
            Stage::Stem => {
                "stem: edges and colours, a fine map (1/4 of the input) of little that is class-specific."
            }
            Stage::Layer1 => "layer1: textures, a fine map (1/4) that is barely class-specific.",
            Stage::Layer2 => "layer2: patterns and small parts (1/8).",
            Stage::Layer3 => "layer3: object parts (1/16), more class-specific.",
            Stage::Layer4 => {
                "layer4: the evidence the classifier reads, a coarse map (1/32): the usual Grad-CAM layer."
            }
            Stage::Head => "head: the classifier itself, no spatial map.",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stage name that is not one of [`Stage::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layer `{0}` (expected stem, layer1, layer2, layer3, layer4 or head)")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.name() == s)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}
