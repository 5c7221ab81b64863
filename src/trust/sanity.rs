//! Sanity checks (Adebayo et al. 2018): a map should change when the explained class is
//! replaced by a random other one (random-logit test) and when the network's weights are
//! re-initialised ("efficient" model-randomisation test: every weight at once). Both report
//! the similarity of the two maps at the input's resolution: Spearman rank correlation and
//! SSIM; near 1 means the map did not depend on what it claims to explain.

use burn::tensor::Tensor;

use super::random::Rng;
use super::similarity::{spearman, ssim};
use super::{TrustError, map_at_input};
use crate::cam::{CamOutput, CamRequest, Target, compute_cam};
use crate::model::{Architecture, StagedClassifier};

/// How alike the original map and the map of a sanity check are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Spearman rank correlation (NaN when a map is constant).
    pub spearman: f64,
    /// Mean SSIM.
    pub ssim: f64,
}

fn compare(a: &[f32], b: &[f32], size: (usize, usize)) -> Similarity {
    Similarity {
        spearman: spearman(a, b),
        ssim: ssim(a, b, size),
    }
}

/// The class the random-logit test explains: uniform among the classes other than `class`.
pub fn random_other_class(class: usize, classes: usize, seed: u64) -> usize {
    let pick = Rng::new(seed).below(classes.saturating_sub(1).max(1));
    if pick >= class { pick + 1 } else { pick }
}

/// The random-logit test: the same request for a random other class.
pub async fn random_logit<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    seed: u64,
) -> Result<(usize, Similarity), TrustError> {
    let [_, _, h, w] = input.dims();
    let other = random_other_class(cam.class, cam.logits.len(), seed);
    let mut request = request.clone();
    request.target = Target::Class(other);
    let theirs = compute_cam(model, input.clone(), &request).await?;
    let a = map_at_input(cam, (h, w));
    let b = map_at_input(&theirs, (h, w));
    Ok((other, compare(&a, &b, (h, w))))
}

/// The efficient model-randomisation test: the same request and target on `arch` with
/// every weight freshly initialised (seeded on the input's device; batch norms folded).
pub async fn model_randomisation(
    arch: &Architecture,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    seed: u64,
) -> Result<Similarity, TrustError> {
    let [_, _, h, w] = input.dims();
    let device = input.device();
    device.seed(seed);
    let random = arch.init(&device).valid().fold_batch_norms();
    let mut request = request.clone();
    request.target = match cam.other {
        Some(other) => Target::Contrast {
            class: cam.class,
            other,
        },
        None => Target::Class(cam.class),
    };
    let theirs = compute_cam(&random, input.clone(), &request).await?;
    let a = map_at_input(cam, (h, w));
    let b = map_at_input(&theirs, (h, w));
    Ok(compare(&a, &b, (h, w)))
}
