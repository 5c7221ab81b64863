//! `gradcam explain`: top-5 and a CAM overlay for each photo (or a preprocessed tensor).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use image::{ImageEncoder, RgbImage};
use serde_json::json;

use super::batch::Job;
use super::device::{DeviceChoice, select};
use super::inputs::{load_explainer, read_labels};
use crate::batch::{Record, Shard, write_atomically};
use crate::cam::{CamRequest, Method, SmoothGradOptions, Target};
use crate::display::{DisplayBox, DisplayPhotos, render_display};
use crate::engine::{ExplainJob, Explainer, Explanation, doubt};
use crate::imageio::{DecodeError, decode_photo, read_npy_f32, write_npy_f32};
use crate::model::Layer;
use crate::render::{Colormap, DEFAULT_OPACITY, ViewMode, ViewOptions, render_view, spread};

/// Options of `gradcam explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Photos or folders of photos (JPEG, PNG, GIF, WebP, BMP, TIFF).
    pub(super) photos: Vec<PathBuf>,
    /// CAM method: gradcam, hirescam, gradcam++, xgradcam, layercam, eigencam, eigengradcam,
    /// scorecam, ablationcam, saliency, smoothgrad.
    #[arg(long, default_value = "gradcam")]
    method: Method,
    #[command(flatten)]
    pub(super) cam: CamArgs,
    /// Overlay PNG (one photo), or a folder for one `<name>.png` per photo.
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// The raw map (before upsampling and normalisation) as float32 `.npy` (one photo), or a
    /// folder for one `<name>.npy` per photo.
    #[arg(long)]
    pub(super) cam_out: Option<PathBuf>,
    /// Opacity of the heatmap over the photo, 0–1 (0 = photo only, 1 = heatmap only): the
    /// page's opacity slider over 100; pytorch-grad-cam's `image_weight` is 1 − it.
    #[arg(long, default_value_t = DEFAULT_OPACITY)]
    opacity: f32,
    /// Colour map of the overlay: jet (OpenCV's, default), turbo, viridis, inferno, grey.
    #[arg(long, default_value = "jet")]
    colormap: Colormap,
    /// Colour only the hot region (values at or above this share of the range, 0–1), outline
    /// it and box its largest part.
    #[arg(long)]
    threshold: Option<f32>,
    /// Colour raw map values on a fixed 0–MAX scale instead of stretching each map.
    #[arg(long)]
    absolute_max: Option<f32>,
    /// Draw the overlay as the page shows it in a box of WIDTH[xHEIGHT] device pixels (the
    /// largest size that fits, never above the photo's), instead of at full resolution.
    #[arg(long, value_name = "WIDTH[xHEIGHT]")]
    display_box: Option<DisplayBox>,
    /// Print one JSON object per photo on stdout.
    #[arg(long)]
    json: bool,
    /// Write one CSV row per photo: file, expected (ImageFolder: the photo's subfolder when
    /// it names a class), predicted, confidence, top5, method, layer, hot_box.
    #[arg(long, value_name = "FILE")]
    pub(super) csv: Option<PathBuf>,
    /// Only the photos of shard K of N: those whose relative path (inside the folder named,
    /// or the file name) has a 64-bit FNV-1a hash ≡ K−1 (mod N). Stable across runs.
    #[arg(long, value_name = "K/N")]
    pub(super) shard: Option<Shard>,
    /// Skip photos whose outputs (`--out`, `--cam-out` files and `--csv` row) all exist;
    /// outputs are written to `NAME.tmp` and renamed, so only whole ones count.
    #[arg(long)]
    pub(super) resume: bool,
}

/// The options `explain` and `evaluate` share: the model, the layer(s), the target, the
/// method's smoothing, the input and the device.
#[derive(Args, Debug)]
pub struct CamArgs {
    /// Model preset (`resnet101`, `efficientnet-lite0`, …; default: the built-in
    /// `efficientnet-lite0`): its weights are looked up in the weights folders (`weights/`
    /// here, next to the binary, `~/.local/share/gradcam-web/weights`; `$GRADCAM_WEIGHTS_DIR`
    /// first) when `--weights` is absent, and must match the weights file when both are given.
    #[arg(long)]
    pub(super) model: Option<String>,
    /// Burnpack weights file.
    #[arg(long)]
    pub(super) weights: Option<PathBuf>,
    /// Layer(s), comma-separated to fuse several: `layer4`, `layer3.22`, `layer3,layer4`.
    #[arg(long, default_value = "layer4", value_delimiter = ',')]
    pub(super) layer: Vec<Layer>,
    /// Class index to explain (default: the top-1 class).
    #[arg(long, conflicts_with = "contrast")]
    target: Option<usize>,
    /// "Why A rather than B": explain logit_A − logit_B.
    #[arg(long, value_delimiter = ',', num_args = 1, value_names = ["A,B"])]
    contrast: Option<Vec<usize>>,
    /// Average over horizontal flips × brightness 0.9/1.0/1.1.
    #[arg(long)]
    aug_smooth: bool,
    /// First principal component of the contributions instead of their sum.
    #[arg(long)]
    eigen_smooth: bool,
    /// SmoothGrad: number of noisy samples.
    #[arg(long, default_value_t = SmoothGradOptions::default().samples)]
    smoothgrad_samples: usize,
    /// A preprocessed float32 `.npy` input `[1, 3, H, W]`, used instead of a photo.
    #[arg(long, conflicts_with = "photos")]
    pub(super) input_tensor: Option<PathBuf>,
    /// Class names: `.txt` (one per line) or `.json` (a list or `{"0": name, …}`); as many
    /// as the classifier has classes. Default: ImageNet's for 1000 classes, `class N` else.
    #[arg(long, value_name = "FILE")]
    pub(super) labels: Option<PathBuf>,
    /// Where the network runs: a GPU if one is found (auto), the CPU, or force the GPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub(super) device: DeviceChoice,
}

impl CamArgs {
    /// The explainer these options name (with their labels), its device and the device's name.
    pub(super) fn load_explainer(&self) -> Result<(Explainer, Device, &'static str)> {
        let (device, device_name) = select(self.device)?;
        let mut explainer =
            load_explainer(self.weights.as_deref(), self.model.as_deref(), &device)?;
        if let Some(file) = &self.labels {
            explainer.set_labels(read_labels(file)?, &file.display().to_string())?;
        }
        Ok((explainer, device, device_name))
    }

    /// The request for `method` with these options.
    pub(super) fn request(&self, method: Method) -> Result<CamRequest> {
        let target = match (&self.contrast, self.target) {
            (Some(pair), _) => match pair.as_slice() {
                [class, other] => Target::Contrast {
                    class: *class,
                    other: *other,
                },
                _ => bail!("--contrast takes two classes: A,B"),
            },
            (None, Some(class)) => Target::Class(class),
            (None, None) => Target::TopClass,
        };
        let mut request = CamRequest::new(method, self.layer[0], target);
        request.layers = self.layer.clone();
        request.aug_smooth = self.aug_smooth;
        request.eigen_smooth = self.eigen_smooth;
        request.smooth_grad.samples = self.smoothgrad_samples;
        Ok(request)
    }
}

/// Runs `gradcam explain`: every photo in turn; a photo that fails is reported and skipped.
pub(super) fn run(args: &ExplainArgs, verbose: bool) -> Result<()> {
    let (explainer, device, device_name) = args.cam.load_explainer()?;
    let model = explainer.info().arch.name();
    let context = ReportContext {
        model: &model,
        device: device_name,
    };
    let request = args.cam.request(args.method)?;
    if let Some(tensor) = &args.cam.input_tensor {
        let input = read_input_tensor(tensor, &device)?;
        let [_, _, h, w] = input.dims();
        let explanation =
            pollster::block_on(explainer.explain(ExplainJob::tensor(input, 0.0, request)))?;
        let blank = RgbImage::new(w as u32, h as u32);
        let job = Job::single(args, tensor);
        return report(args, &context, &job, &blank, &explanation).map(|_| ());
    }
    let plan = super::batch::plan(args, explainer.labels())?;
    let mut log = plan.open_csv(args)?;
    let total = plan.jobs.len();
    let mut failed = 0;
    for (i, job) in plan.jobs.iter().enumerate() {
        let path = &job.entry.path;
        if plan.many {
            eprint!("[{}/{total}] {} … ", i + 1, path.display());
        }
        let result = explain_photo(&explainer, path, request.clone()).and_then(|(photo, e)| {
            let record = report(args, &context, job, &photo, &e)?;
            if let Some(log) = &mut log {
                log.append(&record)?;
            }
            Ok(e)
        });
        match result {
            Ok(e) if plan.many => eprintln!("ok ({:.0} ms)", e.timings.cam_ms),
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                if plan.many {
                    eprintln!("failed");
                }
                eprintln!("error: {}: {e:#}", path.display());
                if let Some(detail) = verbose.then(|| decoder_detail(&e)).flatten() {
                    eprintln!("  decoder: {}", detail.escape_debug());
                }
                if args.json {
                    println!("{}", json!({"photo": path, "error": format!("{e:#}")}));
                }
            }
        }
    }
    if plan.many || plan.skipped > 0 {
        eprintln!(
            "explained {} photos, {failed} failed, {} skipped as done",
            total - failed,
            plan.skipped
        );
    }
    if failed > 0 {
        bail!("{failed} of {total} photos could not be explained");
    }
    Ok(())
}

/// The decoder's own report behind a photo that could not be decoded (for `--verbose`).
fn decoder_detail(error: &anyhow::Error) -> Option<&str> {
    error.downcast_ref::<DecodeError>()?.detail()
}

pub(super) fn explain_photo(
    explainer: &Explainer,
    path: &Path,
    request: CamRequest,
) -> Result<(RgbImage, Explanation)> {
    let file = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let photo = decode_photo(&file)?;
    let explanation = pollster::block_on(explainer.explain(ExplainJob::photo(&photo, request)))?;
    Ok((photo.rgb, explanation))
}

/// A preprocessed `[1, 3, H, W]` float32 `.npy` as a tensor on `device`.
pub(super) fn read_input_tensor(path: &Path, device: &Device) -> Result<Tensor<4>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let array = read_npy_f32(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let shape = match array.shape.as_slice() {
        [1, 3, h, w] => [1, 3, *h, *w],
        other => bail!(
            "{} has shape {other:?}; expected [1, 3, H, W]",
            path.display()
        ),
    };
    Ok(Tensor::from_data(
        TensorData::new(array.data, shape),
        device,
    ))
}

/// What every report names besides the photo.
struct ReportContext<'a> {
    model: &'a str,
    device: &'static str,
}

/// Writes a photo's outputs (atomically) and prints its report; returns its record.
fn report(
    args: &ExplainArgs,
    context: &ReportContext<'_>,
    job: &Job,
    photo: &RgbImage,
    explanation: &Explanation,
) -> Result<Record> {
    let source = job.entry.path.as_path();
    let cam = &explanation.cam;
    let mut hot_box = None;
    if job.png.is_some() || args.threshold.is_some() {
        let options = ViewOptions::chosen(
            args.colormap,
            args.opacity,
            args.absolute_max,
            args.threshold,
            ViewMode::Overlay,
        );
        let shape = (cam.height, cam.width);
        let overlay = match args.display_box {
            Some(target) => {
                let mut photos = DisplayPhotos::default();
                let shown = render_display(&mut photos, photo, &cam.map, shape, &options, target);
                hot_box = shown.hot_box;
                shown.view
            }
            None => {
                let view = render_view(photo, &cam.map, shape, &options);
                hot_box = view.hot_box;
                view
            }
        };
        if let Some(path) = &job.png {
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(
                    &overlay.rgba,
                    overlay.width,
                    overlay.height,
                    image::ExtendedColorType::Rgba8,
                )
                .with_context(|| format!("encoding {}", path.display()))?;
            write_atomically(path, &png)?;
        }
    }
    if let Some(path) = &job.npy {
        write_atomically(path, &write_npy_f32(&[cam.height, cam.width], &cam.map))?;
    }
    let layers: Vec<String> = explanation
        .request
        .layers
        .iter()
        .map(ToString::to_string)
        .collect();
    let record = Record {
        file: source.display().to_string(),
        expected: job.expected.clone(),
        top5: explanation.top5.clone(),
        method: cam.method.name().to_owned(),
        layer: layers.join(","),
        hot_box,
    };
    if args.json {
        let target = match cam.other {
            Some(other) => json!({"class": cam.class, "rather_than": other}),
            None => json!(cam.class),
        };
        println!(
            "{}",
            json!({
                "photo": source,
                "model": context.model,
                "device": context.device,
                "method": record.method,
                "layer": record.layer,
                "target": target,
                "expected": record.expected,
                "top5": record.top5,
                "hot_box": record.hot_box,
                "cam_shape": [cam.height, cam.width],
                "timings_ms": explanation.timings,
                "note": cam.deviation.map(|d| d.to_string()),
            })
        );
    } else {
        if job.many {
            println!("{}:", source.display());
        }
        for p in &record.top5 {
            println!("{:>4}  {:6.2}%  {}", p.class, p.prob * 100.0, p.label);
        }
    }
    if let Some(deviation) = cam.deviation {
        eprintln!("{}: {deviation}", source.display());
    }
    if let Some(doubt) = doubt(&explanation.top5) {
        eprintln!("{}: {doubt}", source.display());
    }
    if spread(&cam.map).is_none() {
        eprintln!(
            "{}: no positive evidence for class {} (a flat map): the overlay shows the plain photo",
            source.display(),
            cam.class
        );
    }
    Ok(record)
}
