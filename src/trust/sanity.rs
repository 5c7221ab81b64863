//! Sanity checks (Adebayo et al. 2018): a map should change when the explained class is
//! replaced by a random other one (random-logit test) and when the network's weights are
//! re-initialised ("efficient" model-randomisation test: every weight at once; cascading:
//! stage by stage from the classifier down). Each reports the similarity of the two maps at
//! the input's resolution: Spearman rank correlation and SSIM; near 1 means the map did not
//! depend on what it claims to explain.

use burn::tensor::{Device, Tensor};

use super::random::Rng;
use super::similarity::{spearman, ssim};
use super::{TrustError, map_at_input};
use crate::cam::{CamOutput, CamRequest, Target, compute_cam};
use crate::model::{Architecture, Network, Stage, StagedClassifier};

/// How alike the original map and the map of a sanity check are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Spearman rank correlation (NaN when a map is constant).
    pub spearman: f64,
    /// Mean SSIM.
    pub ssim: f64,
}

/// How alike `original` (the map under test at the input's resolution, as
/// [`map_at_input`] gives it) is to the map `request` gets from `model`.
async fn similarity_to<M: StagedClassifier + ?Sized>(
    original: &[f32],
    model: &M,
    input: &Tensor<4>,
    request: &CamRequest,
) -> Result<Similarity, TrustError> {
    let [_, _, h, w] = input.dims();
    let theirs = compute_cam(model, input.clone(), request).await?;
    let theirs = map_at_input(&theirs, (h, w));
    Ok(Similarity {
        spearman: spearman(original, &theirs),
        ssim: ssim(original, &theirs, (h, w)),
    })
}

/// The class the random-logit test explains: uniform among the classes other than `class`.
pub fn random_other_class(class: usize, classes: usize, seed: u64) -> usize {
    let pick = Rng::new(seed).below(classes.saturating_sub(1).max(1));
    if pick >= class { pick + 1 } else { pick }
}

/// The random-logit test: the same request for a random other class. `original` is `cam`'s
/// map at the input's resolution.
pub async fn random_logit<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    original: &[f32],
    seed: u64,
) -> Result<(usize, Similarity), TrustError> {
    let other = random_other_class(cam.class, cam.logits.len(), seed);
    let mut request = request.clone();
    request.target = Target::Class(other);
    let similarity = similarity_to(original, model, input, &request).await?;
    Ok((other, similarity))
}

/// A network of `arch` with every weight freshly initialised from `seed` on `device`, in
/// inference mode with its batch norms folded (as a loaded network is).
fn fresh_network(arch: &Architecture, device: &Device, seed: u64) -> Network {
    device.seed(seed);
    arch.init(device).valid().fold_batch_norms()
}

/// `request` aimed at the class (or contrast) `cam` explained, so that a changed network
/// explains the same decision rather than its own top class.
fn same_target(request: &CamRequest, cam: &CamOutput) -> CamRequest {
    let mut request = request.clone();
    request.target = match cam.other {
        Some(other) => Target::Contrast {
            class: cam.class,
            other,
        },
        None => Target::Class(cam.class),
    };
    request
}

/// The efficient model-randomisation test: the same request and target on `arch` with
/// every weight freshly initialised from `seed`. `original` is `cam`'s map at the input's
/// resolution.
pub async fn model_randomisation(
    arch: &Architecture,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    original: &[f32],
    seed: u64,
) -> Result<Similarity, TrustError> {
    let random = fresh_network(arch, &input.device(), seed);
    similarity_to(original, &random, input, &same_target(request, cam)).await
}

/// The cascading model-randomisation test: starting from `model` (of `arch`), the stages
/// are replaced one after another, from the classifier down ([`Stage::ALL`] in reverse), by
/// those of the network [`model_randomisation`] uses for `seed`, and the map of the same
/// request and target is compared with `original` after each. Once every stage is replaced
/// the network is that one, so the last similarity is the efficient test's.
pub async fn cascading_randomisation(
    arch: &Architecture,
    model: &Network,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    original: &[f32],
    seed: u64,
) -> Result<Vec<Similarity>, TrustError> {
    let random = fresh_network(arch, &input.device(), seed);
    let request = same_target(request, cam);
    let mut network = model.clone();
    let mut steps = Vec::with_capacity(Stage::ALL.len());
    for stage in Stage::ALL.into_iter().rev() {
        network = network.with_stage_from(stage, &random);
        steps.push(similarity_to(original, &network, input, &request).await?);
    }
    Ok(steps)
}
