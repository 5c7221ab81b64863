//! `gradcam bench`: the engine's forward pass, a full Grad-CAM and each stage, timed on one
//! photo (see `benchmark`), as a table or JSON for `./dev bench`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use super::device::{DeviceChoice, select};
use super::inputs::load_explainer;
use crate::benchmark::{BenchPlan, run_benchmark};
use crate::imageio::decode_photo;

/// Options of `gradcam bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Model preset, looked up as `explain` does (default: the built-in `efficientnet-lite0`).
    #[arg(long)]
    model: Option<String>,
    /// Burnpack weights file.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// The photo to explain.
    #[arg(long, default_value = "tests/fixtures/chelsea.png")]
    photo: PathBuf,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Where the network runs (see `explain`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

/// Runs `gradcam bench`.
pub(super) fn run(args: &BenchArgs) -> Result<()> {
    let (device, device_name) = select(args.device)?;
    let explainer = load_explainer(args.weights.as_deref(), args.model.as_deref(), &device)?;
    let file =
        std::fs::read(&args.photo).with_context(|| format!("reading {}", args.photo.display()))?;
    let photo = decode_photo(&file)?;
    let plan = BenchPlan {
        warmup: args.warmup,
        runs: args.runs,
    };
    let report = pollster::block_on(run_benchmark(&explainer, &photo, plan))?;
    let model = explainer.info().arch.name();
    if args.json {
        println!(
            "{}",
            json!({
                "model": model,
                "device": device_name,
                "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
                "threads": std::thread::available_parallelism().map_or(1, usize::from),
                "warmup": plan.warmup,
                "runs": plan.runs,
                "report": report,
            })
        );
        return Ok(());
    }
    println!(
        "{model} on {device_name}, {} timed runs after {} warm-up (ms, median / min):",
        plan.runs, plan.warmup
    );
    println!("  first forward  {:9.1}", report.first_forward_ms);
    let rows = [
        ("forward", &report.forward_ms),
        ("grad-cam", &report.gradcam_ms),
    ];
    for (what, t) in rows
        .into_iter()
        .chain(report.stages_ms.iter().map(|(s, t)| (s.as_str(), t)))
    {
        println!("  {what:<13} {:9.1} / {:9.1}", t.median, t.min);
    }
    Ok(())
}
