//! The model zoo: torchvision's ResNet family in burn, split into stages for Grad-CAM.

pub mod block;
pub mod config;
pub mod labels;
pub mod resnet;
pub mod stage;
pub mod weights;

pub use config::{BlockKind, ResNetConfig};
pub use resnet::ResNet;
pub use stage::Stage;
