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
use crate::model::labels::Labels;
use crate::model::{Architecture, Network, Stage, StagedClassifier};

/// How alike the original map and the map of a sanity check are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Spearman rank correlation (NaN when a map is constant).
    pub spearman: f64,
    /// Mean SSIM.
    pub ssim: f64,
}

/// Which map a sanity check compared with the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanityCheck {
    /// The same network's map for another class (the random-logit test).
    RandomLogit {
        /// The class explained instead.
        class: usize,
    },
    /// Every weight re-initialised (the efficient model-randomisation test).
    Randomised,
    /// The stages from the classifier down to `down_to` re-initialised (a step of the
    /// cascading test; down to the stem, every weight is).
    Cascading {
        /// The lowest stage replaced.
        down_to: Stage,
    },
}

impl SanityCheck {
    /// What was changed, in words, naming classes with `labels`.
    pub fn describe(self, labels: &Labels) -> String {
        match self {
            Self::RandomLogit { class } => format!("explaining “{}” instead", labels.name(class)),
            Self::Randomised => "every weight random".to_owned(),
            Self::Cascading {
                down_to: Stage::Head,
            } => "classifier random".to_owned(),
            Self::Cascading { down_to } => format!("random from the classifier to {down_to}"),
        }
    }
}

/// The map of a sanity check at the input's resolution (as [`map_at_input`] gives it),
/// with its similarity to the original.
#[derive(Debug, Clone, PartialEq)]
pub struct SanityMap {
    /// What was changed.
    pub check: SanityCheck,
    /// How alike it is to the original.
    pub similarity: Similarity,
    /// The map, `height × width` of the input, row-major.
    pub map: Vec<f32>,
}

/// The map `request` gets from `model` and how alike `original` (the map under test at the
/// input's resolution, as [`map_at_input`] gives it) is to it.
async fn compare_with<M: StagedClassifier + ?Sized>(
    check: SanityCheck,
    original: &[f32],
    model: &M,
    input: &Tensor<4>,
    request: &CamRequest,
) -> Result<SanityMap, TrustError> {
    let [_, _, h, w] = input.dims();
    let theirs = compute_cam(model, input.clone(), request).await?;
    let map = map_at_input(&theirs, (h, w));
    let similarity = Similarity {
        spearman: spearman(original, &map),
        ssim: ssim(original, &map, (h, w)),
    };
    Ok(SanityMap {
        check,
        similarity,
        map,
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
) -> Result<SanityMap, TrustError> {
    let class = random_other_class(cam.class, cam.logits.len(), seed);
    let mut request = request.clone();
    request.target = Target::Class(class);
    let check = SanityCheck::RandomLogit { class };
    compare_with(check, original, model, input, &request).await
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
) -> Result<SanityMap, TrustError> {
    let random = fresh_network(arch, &input.device(), seed);
    let request = same_target(request, cam);
    compare_with(SanityCheck::Randomised, original, &random, input, &request).await
}

/// The cascading model-randomisation test: starting from `model` (of `arch`), the stages
/// are replaced one after another, from the classifier down ([`Stage::ALL`] in reverse), by
/// those of the network [`model_randomisation`] uses for `seed`, and the map of the same
/// request and target is compared with `original` after each. Once every stage is replaced
/// the network is that one, so the last map is the efficient test's.
pub async fn cascading_randomisation(
    arch: &Architecture,
    model: &Network,
    input: &Tensor<4>,
    request: &CamRequest,
    cam: &CamOutput,
    original: &[f32],
    seed: u64,
) -> Result<Vec<SanityMap>, TrustError> {
    let random = fresh_network(arch, &input.device(), seed);
    let request = same_target(request, cam);
    let mut network = model.clone();
    let mut steps = Vec::with_capacity(Stage::ALL.len());
    for stage in Stage::ALL.into_iter().rev() {
        network = network.with_stage_from(stage, &random);
        let check = SanityCheck::Cascading { down_to: stage };
        steps.push(compare_with(check, original, &network, input, &request).await?);
    }
    Ok(steps)
}
