//! The model zoo: torchvision's ResNet family and EfficientNet-Lite in burn, each split into
//! the same named stages for the CAM methods.

pub mod block;
pub mod checkpoint;
pub mod config;
pub mod efficientnet;
pub mod efficientnet_config;
mod flex_ops;
mod fold;
pub mod import;
pub mod infer;
pub mod labels;
pub mod layer;
pub mod mbconv;
pub mod network;
pub mod resnet;
pub mod stage;
pub mod staged;
pub mod weights;

pub use config::{BlockKind, ResNetConfig};
pub use efficientnet::EfficientNet;
pub use efficientnet_config::{EfficientNetConfig, MbConvSpec};
pub(crate) use flex_ops::with_threads_awake;
pub use layer::{Layer, UnknownLayer};
pub use network::{ARCHITECTURE_NAMES, Architecture, Network};
pub use resnet::ResNet;
pub use stage::Stage;
pub use staged::StagedClassifier;
