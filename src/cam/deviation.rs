//! Where a result departs from pytorch-grad-cam's definition, in words for the page and CLI.

use std::fmt;

/// Below this, Ablation-CAM's target score counts as not positive (see [`Deviation`]).
pub const ABLATION_SCORE_EPSILON: f32 = 1e-6;

/// A departure from pytorch-grad-cam's formulas that changed a result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Deviation {
    /// Ablation-CAM's explained score `y` was not above [`ABLATION_SCORE_EPSILON`], so the
    /// score drops were divided by `max(|y|, ε)`. pytorch-grad-cam divides by `y` itself,
    /// which inverts the map for a negative score and is infinite or NaN near zero.
    AblationScoreNotPositive {
        /// The explained score `y` (logit, or logit difference for a contrast).
        score: f32,
    },
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deviation::AblationScoreNotPositive { score } => write!(
                f,
                "Ablation-CAM: the explained score is {score:.3}, not positive, so each \
                 channel's score drop is divided by |score| (at least {ABLATION_SCORE_EPSILON:e}) \
                 rather than by the score as pytorch-grad-cam does, which would invert the map."
            ),
        }
    }
}
