//! Class activation maps: the pytorch-grad-cam method family on any [`StagedClassifier`]
//! network, at any layer or several, plus pixel-space saliency.
//!
//! [`compute_cam`] is the entry point; [`grad_cam`] is its everyday special case.
//!
//! [`StagedClassifier`]: crate::model::StagedClassifier

mod compute;
mod deviation;
mod eigen;
mod gradcam;
mod gradient_rules;
mod last_stage;
mod method;
mod perturbation;
mod pixel;
mod readback;
mod target;

pub use compute::{
    AUGMENTATIONS, CachedActivations, CamRequest, Phase, compute_cam, compute_cam_reusing,
    scale_like_pytorch_grad_cam,
};
pub use deviation::{ABLATION_SCORE_EPSILON, Deviation};
pub use eigen::first_component_projection;
pub use gradcam::{CamError, CamOutput, grad_cam};
pub use last_stage::grad_cam_for_class_on_host;
pub use method::{Family, GradientRule, Method, UnknownMethod};
pub use perturbation::ablation_weights;
pub use pixel::SmoothGradOptions;
pub use readback::read_f32;
pub use target::{ResolvedTarget, Target};
