//! The result type every method returns, its errors, and Grad-CAM (Selvaraju et al. 2017)
//! as the everyday entry point.
//!
//! The activations `A` of the chosen layer become a fresh autodiff leaf; the rest of the
//! network runs on top of it with the weights as constants, so the backward pass computes
//! d(score)/dA and nothing else (no weight gradients).

use burn::tensor::Tensor;

use super::compute::{CamRequest, compute_cam};
use super::deviation::Deviation;
use super::method::Method;
use super::target::{ResolvedTarget, Target};
use crate::model::{Layer, StagedClassifier};

/// A map, before upsampling to the photo and normalisation.
#[derive(Debug, Clone)]
pub struct CamOutput {
    /// Row-major `height × width`, non-negative.
    pub map: Vec<f32>,
    /// Map height: the layer's (one layer) or the input's (fused layers, `aug_smooth`,
    /// pixel-space methods).
    pub height: usize,
    /// Map width.
    pub width: usize,
    /// The explained class.
    pub class: usize,
    /// In a contrast, the class argued against.
    pub other: Option<usize>,
    /// All logits of the forward pass, `[classes]`.
    pub logits: Vec<f32>,
    /// The (first) explained layer; `head` for pixel-space methods.
    pub layer: Layer,
    /// The method that made the map.
    pub method: Method,
    /// That layer's activations `A` (`[1, C, h, w]`, no autodiff), kept on the device so that
    /// another class can be explained without a new forward pass; `None` for pixel methods.
    pub activations: Option<Tensor<4>>,
    /// Where the map departs from pytorch-grad-cam's definition (to be shown to the user).
    pub deviation: Option<Deviation>,
}

impl CamOutput {
    pub(crate) fn new(
        map: Vec<f32>,
        (height, width): (usize, usize),
        target: ResolvedTarget,
        logits: Vec<f32>,
        layer: Layer,
        activations: Option<Tensor<4>>,
        method: Method,
    ) -> Self {
        Self {
            map,
            height,
            width,
            class: target.class,
            other: target.other,
            logits,
            layer,
            method,
            activations,
            deviation: None,
        }
    }

    /// The explained target.
    pub fn target(&self) -> ResolvedTarget {
        ResolvedTarget {
            class: self.class,
            other: self.other,
        }
    }
}

/// Why a map could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CamError {
    /// The requested layer has no spatial output.
    #[error("layer `{0}` has no spatial feature map; choose stem or layer1..layer4")]
    NotSpatial(Layer),
    /// The requested block does not exist in this network.
    #[error("this network has no layer `{0}`")]
    NoSuchLayer(Layer),
    /// A layer-based method was asked for without a layer.
    #[error("choose at least one layer for this method")]
    NoLayer,
    /// The requested class does not exist.
    #[error("class {class} does not exist (the model has {classes} classes)")]
    NoSuchClass {
        /// Requested index.
        class: usize,
        /// Number of classes of the model.
        classes: usize,
    },
    /// The shortcut for switching classes only exists for Grad-CAM at the last stage.
    #[error("switching classes without a new pass needs a Grad-CAM `layer4` result, not `{0}`")]
    NotLastStage(Layer),
    /// The device failed (lost GPU, failed read-back).
    #[error("the compute device failed: {0}")]
    Device(String),
}

/// Computes Grad-CAM for one image at one layer: ReLU(Σ_k α_k A_k), α_k the spatial mean of
/// d(score)/dA_k.
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`, on a device of the model's backend (autodiff not needed)
/// - output map: `h × w` of `layer`'s output
pub async fn grad_cam<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    layer: impl Into<Layer>,
    target: Target,
) -> Result<CamOutput, CamError> {
    compute_cam(
        model,
        input,
        &CamRequest::new(Method::GradCam, layer, target),
    )
    .await
}
