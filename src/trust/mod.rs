//! "Can I trust this heatmap?": faithfulness metrics, sanity checks and baselines for one
//! map, backend-agnostic (flex and WebGPU), perturbed inputs batched.
//!
//! [`evaluate`] is the entry point (the CLI's `gradcam evaluate`, later the page's panel):
//! an [`Explanation`], its input and a [`MetricsRequest`] in, a serialisable
//! [`TrustReport`] out. [`evaluate_baseline`] scores a [`Baseline`] map the same way.

mod baselines;
mod confidence;
mod curves;
mod ground_truth;
mod imputation;
mod metric;
mod random;
mod road;
mod sanity;
mod score;
mod similarity;
mod table;

use std::collections::BTreeMap;

use burn::tensor::Tensor;
use serde::Serialize;
use web_time::Instant;

pub use baselines::{Baseline, baseline_map};
pub use confidence::{ConfidenceChange, confidence_change};
pub use curves::{Curve, CurveBaseline, CurveKind, blur, curve, relevance_rank, trapezoid_auc};
pub use ground_truth::{Localisation, POINTING_TOLERANCE, localise};
pub use imputation::impute;
pub use metric::{Headline, Metric};
pub use random::Rng;
pub use road::{DEFAULT_PERCENTILES, RoadScores, percentile, road, road_keep};
pub use sanity::{
    SanityCheck, SanityMap, Similarity, cascading_randomisation, model_randomisation, random_logit,
    random_other_class,
};
pub use similarity::{spearman, ssim};
pub use table::{TrustRowKey, TrustTable};

use crate::cam::{CamError, CamOutput, read_f32};
use crate::engine::{Explainer, Explanation, elapsed_ms};
use crate::model::{Layer, StagedClassifier};
use crate::render::{normalize_like_pytorch_grad_cam, scale_like_pytorch_grad_cam};

/// Why a metric could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The map or a perturbed input could not be computed.
    #[error(transparent)]
    Cam(#[from] CamError),
    /// Deletion/insertion with no steps.
    #[error("deletion and insertion need at least one step")]
    ZeroSteps,
    /// A ROAD percentile outside 1..=99.
    #[error("ROAD percentiles must be between 1 and 99, not {0}")]
    BadPercentile(u32),
    /// An unknown metric name.
    #[error(
        "unknown metric `{0}` (expected road, confidence, deletion, insertion, randomisation, cascading-randomisation, random-logit)"
    )]
    UnknownMetric(String),
    /// An unknown curve baseline.
    #[error("unknown baseline `{0}` (expected blur or zero)")]
    UnknownBaseline(String),
}

/// What to measure and how.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRequest {
    /// The metrics to compute.
    pub metrics: Vec<Metric>,
    /// Deletion/insertion steps (the curves have `steps + 1` points).
    pub steps: usize,
    /// What deleted pixels become, and insertion starts from.
    pub baseline: CurveBaseline,
    /// ROAD's percentiles.
    pub percentiles: Vec<u32>,
    /// ROAD's imputation noise (pytorch-grad-cam: 0.01; 0 makes ROAD deterministic).
    pub road_noise: f32,
    /// Seed of every random choice (noise, random class, re-initialised weights, RandomCAM).
    pub seed: u64,
    /// Perturbed inputs per forward pass.
    pub batch: usize,
}

impl Default for MetricsRequest {
    fn default() -> Self {
        Self {
            metrics: Metric::ALL.to_vec(),
            steps: 32,
            baseline: CurveBaseline::Blur,
            percentiles: DEFAULT_PERCENTILES.to_vec(),
            road_noise: 0.01,
            seed: 0,
            batch: 16,
        }
    }
}

/// A metric's value: a number, or a curve / per-percentile array.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A single number (NaN is written as `null`).
    Number(f64),
    /// An array.
    Array(Vec<f64>),
}

/// The metrics of one map.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrustReport {
    /// `{name: value}`, names as in the README.
    pub metrics: BTreeMap<String, MetricValue>,
    /// Milliseconds per metric family.
    pub timings_ms: BTreeMap<String, f64>,
    /// The maps the sanity checks compared with the original: the random class's, then the
    /// randomised networks' (cascading from the classifier down); their numbers are in
    /// `metrics`.
    #[serde(skip)]
    pub sanity_maps: Vec<SanityMap>,
}

impl TrustReport {
    fn number(&mut self, name: &str, v: impl Into<f64>) {
        self.metrics
            .insert(name.to_owned(), MetricValue::Number(v.into()));
    }

    fn array(&mut self, name: &str, v: impl IntoIterator<Item = f64>) {
        self.metrics
            .insert(name.to_owned(), MetricValue::Array(v.into_iter().collect()));
    }

    /// The efficient model-randomisation test's numbers.
    fn randomised(&mut self, s: &Similarity) {
        self.number(headline_key(Metric::Randomisation), s.spearman);
        self.number("randomisation_ssim", s.ssim);
    }

    /// A number by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match self.metrics.get(name)? {
            MetricValue::Number(v) => Some(*v),
            MetricValue::Array(_) => None,
        }
    }
}

/// A metric family starting (for progress displays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustPhase {
    /// Reading the input back.
    Prepare,
    /// One of the metrics.
    Metric(Metric),
}

impl TrustPhase {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prepare => "prepare",
            Self::Metric(m) => m.name(),
        }
    }
}

/// A map brought to the input's resolution and normalised as pytorch-grad-cam's output
/// (what its metrics take).
pub fn map_at_input(cam: &CamOutput, (h, w): (usize, usize)) -> Vec<f32> {
    if (cam.height, cam.width) == (h, w) {
        let mut map = cam.map.clone();
        scale_like_pytorch_grad_cam(&mut map);
        map
    } else {
        normalize_like_pytorch_grad_cam(&cam.map, (cam.height, cam.width), (h, w)).0
    }
}

/// Scores `map` (input resolution, [0, 1]) for `class` with the map metrics of `request`.
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`
pub async fn score_map<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    host_input: &[f32],
    map: &[f32],
    class: usize,
    request: &MetricsRequest,
    progress: &dyn Fn(TrustPhase),
) -> Result<TrustReport, TrustError> {
    let [_, _, h, w] = input.dims();
    let device = input.device();
    let mut report = TrustReport::default();
    let mut substrate = None;
    for &metric in &request.metrics {
        if !metric.scores_a_map() {
            continue;
        }
        progress(TrustPhase::Metric(metric));
        let start = Instant::now();
        match metric {
            Metric::Confidence => {
                let c = confidence_change(model, input, map, class).await?;
                report.number(headline_key(metric), c.change);
                report.number("drop_in_confidence", c.drop);
                report.number("increase_in_confidence", c.increase);
            }
            Metric::Deletion | Metric::Insertion => {
                let base: &Tensor<4> = substrate.get_or_insert_with(|| match request.baseline {
                    CurveBaseline::Zero => input.zeros_like(),
                    CurveBaseline::Blur => Tensor::from_data(
                        burn::tensor::TensorData::new(blur(host_input, (h, w)), [1, 3, h, w]),
                        &device,
                    ),
                });
                let (kind, name) = match metric {
                    Metric::Deletion => (CurveKind::Deletion, "deletion"),
                    _ => (CurveKind::Insertion, "insertion"),
                };
                let c = curve(
                    model,
                    input,
                    base,
                    map,
                    class,
                    kind,
                    request.steps,
                    request.batch,
                )
                .await?;
                report.array(
                    &format!("{name}_curve"),
                    c.probabilities.iter().map(|&p| f64::from(p)),
                );
                report.number(headline_key(metric), c.auc);
            }
            Metric::Road => {
                let r = road(
                    model,
                    host_input,
                    (h, w),
                    map,
                    class,
                    &request.percentiles,
                    request.road_noise,
                    request.seed,
                    request.batch,
                    &device,
                )
                .await?;
                report.array(
                    "road_percentiles",
                    r.percentiles.iter().map(|&p| f64::from(p)),
                );
                report.array("road_morf", r.morf.iter().map(|&v| f64::from(v)));
                report.array("road_lerf", r.lerf.iter().map(|&v| f64::from(v)));
                report.number("road_morf_average", r.morf_average);
                report.number("road_lerf_average", r.lerf_average);
                report.number(headline_key(metric), r.combined);
            }
            Metric::Randomisation | Metric::CascadingRandomisation | Metric::RandomLogit => {
                unreachable!("skipped above")
            }
        }
        report
            .timings_ms
            .insert(metric.name().to_owned(), elapsed_ms(start));
    }
    Ok(report)
}

/// The report key of `metric`'s headline number.
fn headline_key(metric: Metric) -> &'static str {
    metric
        .headline()
        .expect("every metric reported as one number has a headline")
        .key
}

/// Every requested metric of an explanation of `input` (`[1, 3, H, W]`, the tensor the
/// explanation was computed from), calling `progress` as each metric starts.
pub async fn evaluate(
    explainer: &Explainer,
    input: &Tensor<4>,
    explanation: &Explanation,
    request: &MetricsRequest,
    progress: &dyn Fn(TrustPhase),
) -> Result<TrustReport, TrustError> {
    let [_, _, h, w] = input.dims();
    progress(TrustPhase::Prepare);
    let host_input = read_f32(input.clone()).await?;
    let cam = &explanation.cam;
    let map = map_at_input(cam, (h, w));
    let model = explainer.model();
    let mut report = score_map(
        model,
        input,
        &host_input,
        &map,
        cam.class,
        request,
        progress,
    )
    .await?;
    // The cascading test ends on the efficient test's network: asked for both, it is run once.
    let cascading = request.metrics.contains(&Metric::CascadingRandomisation);
    let efficient = request.metrics.contains(&Metric::Randomisation);
    for &metric in &request.metrics {
        let start = Instant::now();
        let arch = &explainer.info().arch;
        let (target, seed) = (&explanation.request, request.seed);
        match metric {
            Metric::RandomLogit => {
                progress(TrustPhase::Metric(metric));
                let m = random_logit(model, input, target, cam, &map, seed).await?;
                if let SanityCheck::RandomLogit { class } = m.check {
                    report.number("random_logit_class", class as f64);
                }
                report.number(headline_key(metric), m.similarity.spearman);
                report.number("random_logit_ssim", m.similarity.ssim);
                report.sanity_maps.push(m);
            }
            Metric::Randomisation if !cascading => {
                progress(TrustPhase::Metric(metric));
                let m = model_randomisation(arch, input, target, cam, &map, seed).await?;
                report.randomised(&m.similarity);
                report.sanity_maps.push(m);
            }
            Metric::CascadingRandomisation => {
                progress(TrustPhase::Metric(metric));
                let steps =
                    cascading_randomisation(arch, model, input, target, cam, &map, seed).await?;
                report.array(
                    "cascading_spearman",
                    steps.iter().map(|m| m.similarity.spearman),
                );
                report.array("cascading_ssim", steps.iter().map(|m| m.similarity.ssim));
                if let (true, Some(all)) = (efficient, steps.last()) {
                    report.randomised(&all.similarity);
                }
                report.sanity_maps.extend(steps);
            }
            _ => continue,
        }
        report
            .timings_ms
            .insert(metric.name().to_owned(), elapsed_ms(start));
    }
    // Whatever order they were asked in (a stable sort keeps the cascade's).
    report.sanity_maps.sort_by_key(|m| match m.check {
        SanityCheck::RandomLogit { .. } => 0,
        SanityCheck::Randomised => 1,
        SanityCheck::Cascading { .. } => 2,
    });
    Ok(report)
}

/// The map metrics of `request` for a [`Baseline`] map explaining `class` (RandomCAM reads
/// `layer`).
pub async fn evaluate_baseline(
    explainer: &Explainer,
    input: &Tensor<4>,
    baseline: Baseline,
    class: usize,
    layer: Layer,
    request: &MetricsRequest,
    progress: &dyn Fn(TrustPhase),
) -> Result<TrustReport, TrustError> {
    progress(TrustPhase::Prepare);
    let host_input = read_f32(input.clone()).await?;
    let model = explainer.model();
    let map = baseline_map(baseline, model, input, &host_input, layer, request.seed).await?;
    score_map(model, input, &host_input, &map, class, request, progress).await
}
