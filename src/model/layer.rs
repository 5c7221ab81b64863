//! A point in the forward pass where a CAM method can read activations: the end of a stage
//! (`layer3`) or the end of one block inside it (`layer3.22`, torchvision's naming).

use std::fmt;
use std::str::FromStr;

use super::stage::Stage;

/// The output of a whole stage (`block: None`) or of block `block` of that stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layer {
    /// The stage.
    pub stage: Stage,
    /// A block index inside the stage, or `None` for the stage's own output.
    pub block: Option<usize>,
}

impl Layer {
    /// The output of block `index` of `stage`.
    pub fn block(stage: Stage, index: usize) -> Self {
        Self {
            stage,
            block: Some(index),
        }
    }

    /// Whether this layer's output is a spatial feature map (everything but `head`).
    pub fn is_spatial(self) -> bool {
        self.stage != Stage::Head
    }
}

impl From<Stage> for Layer {
    fn from(stage: Stage) -> Self {
        Self { stage, block: None }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block {
            Some(i) => write!(f, "{}.{i}", self.stage),
            None => write!(f, "{}", self.stage),
        }
    }
}

/// A layer name that is neither a stage nor `stage.block`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layer `{0}` (expected stem, layer1 … layer4, or a block such as layer3.22)")]
pub struct UnknownLayer(pub String);

impl FromStr for Layer {
    type Err = UnknownLayer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownLayer(s.to_owned());
        let (stage, block) = match s.split_once('.') {
            Some((stage, block)) => (stage, Some(block.parse().map_err(|_| unknown())?)),
            None => (s, None),
        };
        let stage = stage.parse::<Stage>().map_err(|_| unknown())?;
        Ok(Self { stage, block })
    }
}
