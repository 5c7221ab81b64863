//! The native command line: the same engine as the page, on a native GPU (wgpu) or the
//! `flex` CPU backend.

mod batch;
mod bench;
mod device;
mod evaluate;
mod explain;
mod inputs;
mod manifest;
mod weights;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Grad-CAM heatmaps for image classifiers (ResNet, EfficientNet-Lite).
#[derive(Parser, Debug)]
#[command(name = "gradcam", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Show the GPU drivers' probing output and decoders' own error reports.
    #[arg(long, global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write untrained weights (torchvision's initialisation, fixed seed) as a burnpack.
    InitWeights {
        /// Architecture: resnet18, resnet34, resnet50, resnet101, resnet152 or efficientnet-lite0.
        #[arg(long, default_value = "resnet101")]
        arch: String,
        /// Random seed; the same seed gives the same file.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Store convolution and linear weights as f16 (half the size).
        #[arg(long)]
        half: bool,
        /// Outputs of the classifier (default: the architecture's 1000).
        #[arg(long)]
        classes: Option<usize>,
        /// Write a PyTorch state dict (`torch.save`'s zip format, torchvision's key names)
        /// instead of a burnpack: a checkpoint to test `convert` and the page's own-model
        /// path with (ResNets only).
        #[arg(long, conflicts_with = "half")]
        pytorch: bool,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert a PyTorch state dict (`.pth`, zip or legacy format, any number of classes)
    /// into a burnpack.
    Convert {
        /// Architecture the state dict belongs to (see `init-weights`); default: worked out
        /// from its keys and shapes. The number of classes is always read from `fc.weight`.
        #[arg(long)]
        arch: Option<String>,
        /// The PyTorch file.
        input: PathBuf,
        /// The burnpack to write.
        output: PathBuf,
        /// Store convolution and linear tensors as f16 (batch norm stays f32).
        #[arg(long)]
        half: bool,
        /// The classes' names (`.txt` one per line, `.json` list or `{index: name}`), stored
        /// in the burnpack; their number must be the classifier's.
        #[arg(long)]
        labels: Option<PathBuf>,
    },
    /// Write the page's model manifest (`models.json`) for the burnpacks in a folder.
    Manifest {
        /// Folder holding `.bpk` files; the manifest is written there.
        dir: PathBuf,
    },
    /// Explain photos: top-5 classes and a CAM overlay for each.
    Explain(Box<explain::ExplainArgs>),
    /// Score each method's map: confidence change, deletion/insertion curves, ROAD and
    /// sanity checks ("can I trust this heatmap?").
    Evaluate(Box<evaluate::EvaluateArgs>),
    /// Time the forward pass, a full Grad-CAM and each stage on one photo.
    Bench(bench::BenchArgs),
}

/// Parses the command line and runs it.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    if !cli.verbose {
        device::quiet_probing();
    }
    match cli.command {
        Command::InitWeights {
            arch,
            seed,
            half,
            classes,
            pytorch,
            out,
        } => {
            let format = if pytorch {
                weights::Format::Pytorch
            } else {
                weights::Format::Burnpack { half }
            };
            weights::init_weights(&arch, seed, classes, format, &out)
        }
        Command::Convert {
            arch,
            input,
            output,
            half,
            labels,
        } => weights::convert(arch.as_deref(), &input, &output, half, labels.as_deref()),
        Command::Manifest { dir } => manifest::write_manifest(&dir),
        Command::Explain(args) => explain::run(&args, cli.verbose),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Bench(args) => bench::run(&args),
    }
}
