//! The CAM methods by name, as pytorch-grad-cam calls them.

use std::fmt;
use std::str::FromStr;

/// A way of turning a layer's activations (and gradients) into a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// Grad-CAM (Selvaraju et al. 2017): channel weights = spatial mean of the gradient.
    #[default]
    GradCam,
    /// HiResCAM (Draelos & Carin 2020): Σ_k gradient ⊙ activation, no spatial averaging.
    HiResCam,
    /// Grad-CAM++ (Chattopadhay et al. 2018): α = g² / (2g² + Σ_hw A · g³ + ε) on ReLU(g).
    GradCamPlusPlus,
    /// XGrad-CAM (Fu et al. 2020): weights Σ_hw g · A / Σ_hw A.
    XGradCam,
    /// LayerCAM (Jiang et al. 2021): Σ_k ReLU(g) ⊙ A.
    LayerCam,
    /// Eigen-CAM (Muhammad & Yeasin 2020): first principal component of the activations.
    EigenCam,
    /// Eigen-Grad-CAM: first principal component of gradient ⊙ activation.
    EigenGradCam,
    /// Score-CAM (Wang et al. 2020): softmax over the scores of inputs masked by each channel.
    ScoreCam,
    /// Ablation-CAM (Desai & Ramaswamy 2020): relative score drop when a channel is zeroed
    /// (relative to |score|, see [`ablation_weights`](super::ablation_weights)).
    AblationCam,
    /// Vanilla gradient saliency (Simonyan et al. 2014): max over colour channels of
    /// |d score / d input|, at input resolution (no layer).
    Saliency,
    /// SmoothGrad (Smilkov et al. 2017): saliency averaged over noisy copies of the input.
    SmoothGrad,
}

impl Method {
    /// Every method, in the order the page and the CLI list them.
    pub const ALL: [Method; 11] = [
        Method::GradCam,
        Method::HiResCam,
        Method::GradCamPlusPlus,
        Method::XGradCam,
        Method::LayerCam,
        Method::EigenCam,
        Method::EigenGradCam,
        Method::ScoreCam,
        Method::AblationCam,
        Method::Saliency,
        Method::SmoothGrad,
    ];

    /// The name used on the command line and in the page (pytorch-grad-cam's, lower case).
    pub fn name(self) -> &'static str {
        match self {
            Method::GradCam => "gradcam",
            Method::HiResCam => "hirescam",
            Method::GradCamPlusPlus => "gradcam++",
            Method::XGradCam => "xgradcam",
            Method::LayerCam => "layercam",
            Method::EigenCam => "eigencam",
            Method::EigenGradCam => "eigengradcam",
            Method::ScoreCam => "scorecam",
            Method::AblationCam => "ablationcam",
            Method::Saliency => "saliency",
            Method::SmoothGrad => "smoothgrad",
        }
    }

    /// Whether the method works in pixel space (ignores the layer).
    pub fn is_pixel_space(self) -> bool {
        matches!(self, Method::Saliency | Method::SmoothGrad)
    }

    /// Whether the method back-propagates to the layer.
    pub fn needs_gradients(self) -> bool {
        !matches!(
            self,
            Method::EigenCam | Method::ScoreCam | Method::AblationCam
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A method name that is not one of [`Method::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown method `{0}` (expected one of: gradcam, hirescam, gradcam++, xgradcam, layercam, eigencam, eigengradcam, scorecam, ablationcam, saliency, smoothgrad)"
)]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.to_ascii_lowercase().replace(['-', '_'], "");
        let wanted = if wanted == "gradcamplusplus" {
            "gradcam++".to_owned()
        } else {
            wanted
        };
        Method::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| UnknownMethod(s.to_owned()))
    }
}
