//! Class activation maps. Grad-CAM today; the method family grows here, each method being
//! the rule that turns (activations, gradients) into channel weights.

mod gradcam;
mod last_stage;
mod readback;

pub use gradcam::{CamError, CamOutput, Target, grad_cam};
pub use last_stage::grad_cam_for_class_at_layer4;
pub use readback::read_f32;
