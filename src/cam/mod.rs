//! Class activation maps. Grad-CAM today; the method family grows here, each method being
//! the rule that turns (activations, gradients) into channel weights.

mod gradcam;
mod readback;

pub use gradcam::{CamError, CamOutput, Target, grad_cam};
pub use readback::read_f32;
