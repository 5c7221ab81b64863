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

    /// What the method reads to weigh the layer's channels (for the gradient-based ones,
    /// with which rule); the other facts follow from it.
    pub fn family(self) -> Family {
        use GradientRule as Rule;
        match self {
            Method::GradCam => Family::Gradient(Rule::MeanGradient),
            Method::HiResCam | Method::EigenGradCam => {
                Family::Gradient(Rule::GradientTimesActivation)
            }
            Method::GradCamPlusPlus => Family::Gradient(Rule::PlusPlus),
            Method::XGradCam => Family::Gradient(Rule::ActivationWeightedGradient),
            Method::LayerCam => Family::Gradient(Rule::PositiveGradientTimesActivation),
            Method::EigenCam => Family::Activation,
            Method::ScoreCam | Method::AblationCam => Family::Perturbation,
            Method::Saliency | Method::SmoothGrad => Family::Pixel,
        }
    }

    /// How a gradient-based method turns (activations, gradients) into per-channel
    /// contributions; `None` for every other family.
    pub fn gradient_rule(self) -> Option<GradientRule> {
        match self.family() {
            Family::Gradient(rule) => Some(rule),
            _ => None,
        }
    }

    /// Whether the method works in pixel space (ignores the layer).
    pub fn is_pixel_space(self) -> bool {
        self.family() == Family::Pixel
    }

    /// Whether the method back-propagates (to the layer, or to the pixels).
    pub fn needs_gradients(self) -> bool {
        matches!(self.family(), Family::Gradient(_) | Family::Pixel)
    }

    /// Whether, at the last stage, another class's map is one product of the cached
    /// activations with the classifier's weights (global average pooling makes the gradient
    /// there the class's weight row, the same at every position).
    pub fn retargets_from_classifier(self) -> bool {
        matches!(self, Method::GradCam | Method::HiResCam)
    }

    /// Whether a map costs one forward and at most one backward pass (what the page's grid
    /// of methods shows); Score-CAM and Ablation-CAM run a forward per channel batch,
    /// SmoothGrad a backward per noisy copy.
    pub fn is_single_pass(self) -> bool {
        !matches!(self.family(), Family::Perturbation) && self != Method::SmoothGrad
    }

    /// The method's name as its paper writes it.
    pub fn title(self) -> &'static str {
        match self {
            Method::GradCam => "Grad-CAM",
            Method::HiResCam => "HiResCAM",
            Method::GradCamPlusPlus => "Grad-CAM++",
            Method::XGradCam => "XGrad-CAM",
            Method::LayerCam => "LayerCAM",
            Method::EigenCam => "Eigen-CAM",
            Method::EigenGradCam => "Eigen-Grad-CAM",
            Method::ScoreCam => "Score-CAM",
            Method::AblationCam => "Ablation-CAM",
            Method::Saliency => "Saliency",
            Method::SmoothGrad => "SmoothGrad",
        }
    }

    /// One sentence on what the map shows, for the page's help text.
    pub fn help(self) -> &'static str {
        match self {
            Method::GradCam => {
                "Weighs each channel of the layer by the average gradient of the class score: the regions whose features raise the score."
            }
            Method::HiResCam => {
                "Multiplies gradients and activations position by position: like Grad-CAM, without averaging the gradient away."
            }
            Method::GradCamPlusPlus => {
                "Grad-CAM with channel weights from positive higher-order gradients: better when the class appears several times."
            }
            Method::XGradCam => {
                "Grad-CAM with gradients weighted by the activations, so the weights satisfy the paper's conservation axioms."
            }
            Method::LayerCam => {
                "Positive gradients times activations at each position: sharper maps at early layers."
            }
            Method::EigenCam => {
                "The first principal component of the activations: no gradients and no class (the same map for every class)."
            }
            Method::EigenGradCam => {
                "The first principal component of gradients times activations: class-specific and smoother than HiResCAM."
            }
            Method::ScoreCam => {
                "Masks the photo with each channel and weighs the channels by the class score of the masked photos (slow)."
            }
            Method::AblationCam => {
                "Zeroes each channel in turn and weighs it by how much the class score drops (slow)."
            }
            Method::Saliency => {
                "The gradient of the class score with respect to each input pixel: fine detail, often noisy."
            }
            Method::SmoothGrad => {
                "Saliency averaged over noisy copies of the photo: less noise, more passes (slow)."
            }
        }
    }
}

/// What a method reads to weigh a layer's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// The gradient of the score at the layer (one backward pass), combined by the rule.
    Gradient(GradientRule),
    /// The layer's activations alone (no backward pass, no class).
    Activation,
    /// The scores of perturbed inputs (a forward per channel batch).
    Perturbation,
    /// The gradient of the score at the input pixels (no layer).
    Pixel,
}

impl Family {
    /// The name the page and the reports use.
    pub fn name(self) -> &'static str {
        match self {
            Family::Gradient(_) => "gradient",
            Family::Activation => "activation",
            Family::Perturbation => "perturbation",
            Family::Pixel => "pixel",
        }
    }
}

/// The gradient-based methods' channel contributions, as pytorch-grad-cam computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GradientRule {
    /// Grad-CAM: activations × the spatial mean of the gradient.
    MeanGradient,
    /// HiResCAM (and Eigen-Grad-CAM before its projection): gradient ⊙ activation.
    GradientTimesActivation,
    /// Grad-CAM++: activations × Σ ReLU(g)·α.
    PlusPlus,
    /// XGrad-CAM: activations × Σ g·A / Σ A.
    ActivationWeightedGradient,
    /// LayerCAM: ReLU(gradient) ⊙ activation.
    PositiveGradientTimesActivation,
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
