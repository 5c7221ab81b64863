//! What a map explains: a class, the top class, or a contrast "why A rather than B".

use burn::tensor::Tensor;

use super::CamError;
use crate::model::with_threads_awake;

/// Which score the map explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The logit of the class with the highest logit.
    #[default]
    TopClass,
    /// The logit of a given class.
    Class(usize),
    /// `logit[class] − logit[other]`: evidence for `class` rather than `other`.
    Contrast {
        /// The class argued for.
        class: usize,
        /// The class argued against.
        other: usize,
    },
}

/// A target with the top class resolved and the indices checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// The explained class.
    pub class: usize,
    /// The class subtracted in a contrast.
    pub other: Option<usize>,
}

impl Target {
    /// Resolves the top class against `logits` and checks that every index exists.
    pub fn resolve(self, logits: &[f32]) -> Result<ResolvedTarget, CamError> {
        let classes = logits.len();
        let check = |c: usize| {
            if c < classes {
                Ok(c)
            } else {
                Err(CamError::NoSuchClass { class: c, classes })
            }
        };
        Ok(match self {
            Target::TopClass => ResolvedTarget {
                class: argmax(logits),
                other: None,
            },
            Target::Class(c) => ResolvedTarget {
                class: check(c)?,
                other: None,
            },
            Target::Contrast { class, other } => ResolvedTarget {
                class: check(class)?,
                other: Some(check(other)?),
            },
        })
    }
}

impl ResolvedTarget {
    /// The explained score for each row of a batch of logits.
    ///
    /// # Shapes
    /// - `logits`: `[b, classes]` → output `[b, 1]`
    pub fn score(&self, logits: Tensor<2>) -> Tensor<2> {
        let score = logits.clone().narrow(1, self.class, 1);
        match self.other {
            Some(other) => score - logits.narrow(1, other, 1),
            None => score,
        }
    }

    /// The gradient of the batch's summed score with respect to `leaf` (an autodiff tensor
    /// `logits` was computed from), the backward pass run with the CPU's threads awake;
    /// `leaf_name` says what `leaf` is in the error when no gradient reaches it.
    pub(super) fn gradient(
        &self,
        logits: Tensor<2>,
        leaf: &Tensor<4>,
        leaf_name: &str,
    ) -> Result<Tensor<4>, CamError> {
        let score = self.score(logits).sum();
        let grads = with_threads_awake(&leaf.device(), || score.backward());
        leaf.grad(&grads)
            .ok_or_else(|| CamError::Device(format!("no gradient reached {leaf_name}")))
    }

    /// The explained score from logits already on the host.
    pub fn score_of(&self, logits: &[f32]) -> f32 {
        logits[self.class] - self.other.map_or(0.0, |o| logits[o])
    }
}

/// Index of the largest value (the first one on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}
