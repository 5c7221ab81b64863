//! Timing the engine the way `BENCHMARKS.md` reports it, on any device: the same code runs
//! in the native `gradcam bench` and in the page's `App.benchmark`.
//!
//! Every timed run ends with a read-back (logits, the map, or one value per stage), so the
//! device has finished the work being timed. Runs after `warmup` untimed ones are kept.

use burn::tensor::Tensor;
use serde::Serialize;
use web_time::Instant;

use crate::cam::{CamError, CamRequest, Method, Target, read_f32};
use crate::engine::{ExplainJob, Explainer, elapsed_ms};
use crate::imageio::Photo;
use crate::model::{Stage, StagedClassifier};

/// What to time and how often.
#[derive(Debug, Clone, Copy)]
pub struct BenchPlan {
    /// Untimed runs first (kernel compilation, allocator warm-up).
    pub warmup: usize,
    /// Timed runs.
    pub runs: usize,
}

/// Milliseconds of every timed run, and their median.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// Median of `all`.
    pub median: f64,
    /// Fastest run.
    pub min: f64,
    /// Every timed run, in order.
    pub all: Vec<f64>,
}

impl Timings {
    fn new(all: Vec<f64>) -> Self {
        let mut sorted = all.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Self {
            median,
            min: sorted.first().copied().unwrap_or(f64::NAN),
            all,
        }
    }
}

/// One benchmark's figures (all in milliseconds).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The very first forward pass (includes kernel compilation on a GPU).
    pub first_forward_ms: f64,
    /// Forward pass from the input tensor to the logits on the host.
    pub forward_ms: Timings,
    /// Grad-CAM at `layer4` for the top class, from the decoded photo to the map and top-5
    /// on the host (preprocessing, forward, backward, map).
    pub gradcam_ms: Timings,
    /// Each stage alone on its real input, `stem` to `head`.
    pub stages_ms: Vec<(String, Timings)>,
}

/// One forward pass of `input` (preprocessed) to the logits on the host, in milliseconds.
pub async fn time_forward(explainer: &Explainer, input: &Tensor<4>) -> Result<f64, CamError> {
    let start = Instant::now();
    let logits = explainer.model().forward(input.clone());
    read_f32(logits).await?;
    Ok(elapsed_ms(start))
}

/// Times the forward pass, a full Grad-CAM and each stage for `photo`.
pub async fn run_benchmark(
    explainer: &Explainer,
    photo: &Photo,
    plan: BenchPlan,
) -> Result<BenchReport, CamError> {
    let model = explainer.model();
    // Preprocessed once: the forward and stage timings cover the network alone.
    let input = explainer.input_tensor(photo);
    let forward = || time_forward(explainer, &input);
    let first_forward_ms = forward().await?;
    // A forward and a Grad-CAM in turn, so that both see the same machine (their ratio is a
    // goal, and a shared machine's load drifts over seconds).
    let (mut forward_ms, mut gradcam_ms) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.runs {
        let ms = forward().await?;
        let start = Instant::now();
        explainer
            .explain(ExplainJob::photo(
                photo,
                CamRequest::new(Method::GradCam, Stage::Layer4, Target::TopClass),
            ))
            .await?;
        if i >= plan.warmup {
            forward_ms.push(ms);
            gradcam_ms.push(elapsed_ms(start));
        }
    }

    let mut per_stage = vec![Vec::new(); Stage::ALL.len()];
    for i in 0..plan.warmup + plan.runs {
        let mut x = input.clone();
        for (s, stage) in Stage::ALL.iter().enumerate() {
            let start = Instant::now();
            x = model.stage(*stage, x);
            read_f32(x.clone().sum()).await?;
            if i >= plan.warmup {
                per_stage[s].push(elapsed_ms(start));
            }
        }
    }
    let stages_ms = Stage::ALL
        .iter()
        .zip(per_stage)
        .map(|(stage, all)| (stage.to_string(), Timings::new(all)))
        .collect();

    Ok(BenchReport {
        first_forward_ms,
        forward_ms: Timings::new(forward_ms),
        gradcam_ms: Timings::new(gradcam_ms),
        stages_ms,
    })
}
