//! `gradcam evaluate`: "can I trust this heatmap?" — the trust metrics (`crate::trust`) of
//! each photo and method, one JSON object each on stdout (`--json`), progress on stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Tensor;
use clap::Args;
use serde_json::json;

use super::explain::{CamArgs, read_input_tensor};
use crate::batch::{collect_photos, write_atomically};
use crate::cam::Method;
use crate::engine::{ExplainJob, Explainer, Explanation};
use crate::imageio::decode_photo;
use crate::trust::{
    Baseline, CurveBaseline, Metric, MetricValue, MetricsRequest, TrustReport, TrustRowKey,
    TrustTable, evaluate, evaluate_baseline,
};

/// Options of `gradcam evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Photos or folders of photos (JPEG, PNG, GIF, WebP, BMP, TIFF).
    photos: Vec<PathBuf>,
    /// CAM method(s), comma-separated (see `explain --help`).
    #[arg(long, default_value = "gradcam", value_delimiter = ',')]
    method: Vec<Method>,
    #[command(flatten)]
    cam: CamArgs,
    /// Metrics, comma-separated: road, confidence, deletion, insertion, randomisation,
    /// cascading-randomisation, random-logit (default: all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "confidence,deletion,insertion,road,randomisation,cascading-randomisation,random-logit"
    )]
    metrics: Vec<Metric>,
    /// Deletion/insertion steps (curves of STEPS + 1 points).
    #[arg(long, default_value_t = 32)]
    steps: usize,
    /// What deleted pixels become and insertion starts from: blur or zero.
    #[arg(long, default_value = "blur")]
    baseline: CurveBaseline,
    /// Also score the baseline maps (RandomCAM, Sobel edges, a centred Gaussian) for the
    /// same class, one report each (`"method": "baseline-random"`, …).
    #[arg(long)]
    baselines: bool,
    /// ROAD's imputation noise (pytorch-grad-cam's 0.01; 0 for a deterministic ROAD).
    #[arg(long, default_value_t = 0.01)]
    road_noise: f32,
    /// Seed of the random choices (ROAD noise, random class, re-initialised weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Perturbed inputs per forward pass.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Print one JSON object per photo and method on stdout.
    #[arg(long)]
    json: bool,
    /// Also write a table: a row per photo and method, a column per numeric metric (written
    /// when the run ends, failed photos left out).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

impl EvaluateArgs {
    fn metrics_request(&self) -> MetricsRequest {
        MetricsRequest {
            metrics: self.metrics.clone(),
            steps: self.steps,
            baseline: self.baseline,
            road_noise: self.road_noise,
            seed: self.seed,
            batch: self.batch,
            ..MetricsRequest::default()
        }
    }
}

/// Runs `gradcam evaluate`; a photo that fails is reported and skipped.
pub(super) fn run(args: &EvaluateArgs) -> Result<()> {
    let (explainer, _, device_name) = args.cam.load_explainer()?;
    let model = explainer.info().arch.name();
    let context = json!({"model": model, "device": device_name});
    let inputs: Vec<PathBuf> = match &args.cam.input_tensor {
        Some(tensor) => vec![tensor.clone()],
        None => collect_photos(&args.photos)?
            .into_iter()
            .map(|e| e.path)
            .collect(),
    };
    let total = inputs.len();
    let mut failed = 0;
    let mut table = TrustTable::default();
    for (i, path) in inputs.iter().enumerate() {
        eprintln!("[{}/{total}] {}", i + 1, path.display());
        if let Err(e) = evaluate_input(args, &explainer, path, &context, &mut table) {
            failed += 1;
            eprintln!("error: {}: {e:#}", path.display());
            if args.json {
                println!("{}", json!({"photo": path, "error": format!("{e:#}")}));
            }
        }
    }
    if let Some(file) = &args.csv {
        write_atomically(file, table.to_csv().as_bytes())?;
    }
    if failed > 0 {
        bail!("{failed} of {total} photos could not be evaluated");
    }
    Ok(())
}

fn load_input(args: &EvaluateArgs, explainer: &Explainer, path: &Path) -> Result<Tensor<4>> {
    if args.cam.input_tensor.is_some() {
        return read_input_tensor(path, &explainer.input_device());
    }
    let file = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(explainer.input_tensor(&decode_photo(&file)?))
}

fn evaluate_input(
    args: &EvaluateArgs,
    explainer: &Explainer,
    path: &Path,
    context: &serde_json::Value,
    table: &mut TrustTable,
) -> Result<()> {
    let input = load_input(args, explainer, path)?;
    let request = args.metrics_request();
    let mut shown = None;
    for &method in &args.method {
        let cam_request = args.cam.request(method)?;
        let explanation = pollster::block_on(explainer.explain(ExplainJob::tensor(
            input.clone(),
            0.0,
            cam_request,
        )))?;
        let report =
            pollster::block_on(evaluate(explainer, &input, &explanation, &request, &|p| {
                eprintln!("  {}: {}", method.name(), p.name())
            }))?;
        let key = row_key(path, method.name(), &explanation);
        print_report(&key, context, args.json, &report);
        table.push(key, &report);
        shown = Some(explanation);
    }
    if let (true, Some(explanation)) = (args.baselines, shown) {
        for baseline in Baseline::ALL {
            let report = pollster::block_on(evaluate_baseline(
                explainer,
                &input,
                baseline,
                explanation.cam.class,
                explanation.baseline_layer(),
                &request,
                &|p| eprintln!("  {}: {}", baseline.name(), p.name()),
            ))?;
            let key = row_key(path, baseline.name(), &explanation);
            print_report(&key, context, args.json, &report);
            table.push(key, &report);
        }
    }
    Ok(())
}

/// The row of `method` (or a baseline) scored beside `explanation`'s map of `path`.
fn row_key(path: &Path, method: &str, explanation: &Explanation) -> TrustRowKey {
    TrustRowKey {
        photo: path.display().to_string(),
        method: method.to_owned(),
        layer: explanation.layer_label(),
        target: explanation.cam.class,
    }
}

fn print_report(key: &TrustRowKey, context: &serde_json::Value, json: bool, report: &TrustReport) {
    if json {
        println!(
            "{}",
            json!({
                "photo": key.photo,
                "model": context["model"],
                "device": context["device"],
                "method": key.method,
                "layer": key.layer,
                "target": key.target,
                "metrics": report.metrics,
                "timings_ms": report.timings_ms,
            })
        );
        return;
    }
    println!("{} · {} · class {}", key.photo, key.method, key.target);
    for (name, value) in &report.metrics {
        if let MetricValue::Number(v) = value {
            println!("  {name:<24} {v:.4}");
        }
    }
}
